// Recorder front end (anywidget ES module, no build step): microphone -> MediaRecorder -> kernel.
const CSS = `
.dgnb-rec { font-family: var(--jp-content-font-family, sans-serif); font-size: 14px; display: flex; gap: 10px;
  align-items: center; border: 1px solid var(--jp-border-color2, #ddd); border-radius: 6px; padding: 8px 10px; }
.dgnb-rec button { padding: 3px 12px; border-radius: 4px; border: 1px solid #bbb; background: #f6f8fa; cursor: pointer; }
.dgnb-rec button:disabled { opacity: 0.5; cursor: default; }
.dgnb-rec-meter { width: 140px; height: 10px; background: #eee; border-radius: 5px; overflow: hidden; }
.dgnb-rec-level { height: 100%; width: 0%; background: #2ca02c; transition: width 60ms linear; }
.dgnb-rec-dot { width: 10px; height: 10px; border-radius: 50%; background: #aaa; display: inline-block; }
.dgnb-rec[data-status="recording"] .dgnb-rec-dot { background: #d62728; }
.dgnb-rec-elapsed { font-variant-numeric: tabular-nums; min-width: 3.5em; }
.dgnb-rec-status { color: #555; font-size: 12px; }
.dgnb-rec-error { color: #d62728; font-size: 12px; }
`;

function clock(seconds) {
  const m = Math.floor(seconds / 60);
  return `${m}:${(seconds - 60 * m).toFixed(1).padStart(4, "0")}`;
}

function pickMime() {
  for (const type of ["audio/webm;codecs=opus", "audio/webm", "audio/ogg;codecs=opus"]) {
    if (window.MediaRecorder && MediaRecorder.isTypeSupported(type)) return type;
  }
  return "";
}

function render({ model, el }) {
  const style = document.createElement("style");
  style.textContent = CSS;
  const root = document.createElement("div");
  root.className = "dgnb-rec";
  root.innerHTML = `
    <span class="dgnb-rec-dot"></span>
    <button class="dgnb-rec-start">Record</button>
    <button class="dgnb-rec-stop" disabled>Stop</button>
    <div class="dgnb-rec-meter"><div class="dgnb-rec-level"></div></div>
    <span class="dgnb-rec-elapsed">0:00.0</span>
    <span class="dgnb-rec-status"></span>
    <span class="dgnb-rec-error"></span>`;
  el.append(style, root);
  const q = (c) => root.querySelector(c);
  const startBtn = q(".dgnb-rec-start"), stopBtn = q(".dgnb-rec-stop"), level = q(".dgnb-rec-level");

  let recorder = null, stream = null, audioCtx = null, timer = null, frame = null, started = 0, elapsed = 0;
  let pending = Promise.resolve(); // chunks are sent in order

  function drawStatus() {
    const status = model.get("status");
    root.dataset.status = status;
    const kb = (model.get("received") / 1024).toFixed(1);
    q(".dgnb-rec-status").textContent = status === "idle" ? "" : `${status} · ${kb} KB in the kernel`;
    q(".dgnb-rec-error").textContent = model.get("error") || "";
  }

  function meter(analyser) {
    const data = new Float32Array(analyser.fftSize);
    const draw = () => {
      analyser.getFloatTimeDomainData(data);
      let sum = 0;
      for (const x of data) sum += x * x;
      const rms = Math.sqrt(sum / data.length);
      level.style.width = `${Math.min(100, Math.round(rms * 300))}%`;
      level.dataset.rms = rms.toFixed(4);
      frame = requestAnimationFrame(draw);
    };
    draw();
  }

  async function start() {
    q(".dgnb-rec-error").textContent = "";
    try {
      stream = await navigator.mediaDevices.getUserMedia({ audio: true });
    } catch (err) {
      model.send({ type: "error", message: `microphone: ${err.name}: ${err.message}` });
      return;
    }
    const mime = pickMime();
    recorder = new MediaRecorder(stream, mime ? { mimeType: mime } : {});
    audioCtx = new AudioContext();
    const analyser = audioCtx.createAnalyser();
    analyser.fftSize = 1024;
    audioCtx.createMediaStreamSource(stream).connect(analyser);
    meter(analyser);
    recorder.ondataavailable = (event) => {
      if (!event.data || !event.data.size) return;
      const blob = event.data;
      pending = pending.then(async () => {
        const buffer = await blob.arrayBuffer();
        model.send({ type: "chunk", size: buffer.byteLength }, undefined, [buffer]);
      });
    };
    recorder.onstop = () => {
      elapsed = (performance.now() - started) / 1000;
      pending = pending.then(() => model.send({ type: "stop", elapsed, mime: recorder.mimeType }));
      stream.getTracks().forEach((track) => track.stop());
      if (audioCtx) audioCtx.close();
      cancelAnimationFrame(frame);
      clearInterval(timer);
      level.style.width = "0%";
      startBtn.disabled = false;
      stopBtn.disabled = true;
    };
    model.send({ type: "start", mime: recorder.mimeType });
    started = performance.now();
    recorder.start(250);
    startBtn.disabled = true;
    stopBtn.disabled = false;
    timer = setInterval(() => {
      const s = (performance.now() - started) / 1000;
      q(".dgnb-rec-elapsed").textContent = clock(s);
      const limit = model.get("max_seconds");
      if (limit > 0 && s >= limit) stop();
    }, 100);
  }

  function stop() {
    if (recorder && recorder.state !== "inactive") recorder.stop();
  }

  startBtn.addEventListener("click", start);
  stopBtn.addEventListener("click", stop);
  for (const name of ["status", "received", "error"]) model.on(`change:${name}`, drawStatus);
  drawStatus();
  return () => {
    stop();
    clearInterval(timer);
    cancelAnimationFrame(frame);
  };
}

export default { render };
