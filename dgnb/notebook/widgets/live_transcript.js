// LiveTranscript front end (anywidget ES module, no build step).

const CSS = `
.dgnb-live { font-family: var(--jp-content-font-family, sans-serif); font-size: 14px; line-height: 1.5;
  border: 1px solid var(--jp-border-color2, #ddd); border-radius: 6px; padding: 8px 10px; max-width: 100%; }
.dgnb-live-head { display: flex; gap: 14px; align-items: center; font-size: 12px; color: #666; margin-bottom: 6px; }
.dgnb-live-dot { width: 9px; height: 9px; border-radius: 50%; display: inline-block; background: #aaa; }
.dgnb-live[data-status="live"] .dgnb-live-dot { background: #2ca02c; }
.dgnb-live[data-status="reconnecting"] .dgnb-live-dot { background: #ff7f0e; }
.dgnb-live[data-status="error"] .dgnb-live-dot { background: #d62728; }
.dgnb-live-body { max-height: 320px; overflow-y: auto; white-space: pre-wrap; }
.dgnb-live-interim { color: #999; font-style: italic; }
.dgnb-live-error { color: #d62728; font-size: 12px; }
`;

function clock(seconds) {
  const s = Math.max(0, seconds);
  const m = Math.floor(s / 60);
  return `${m}:${(s - 60 * m).toFixed(1).padStart(4, "0")}`;
}

function render({ model, el }) {
  const style = document.createElement("style");
  style.textContent = CSS;
  const root = document.createElement("div");
  root.className = "dgnb-live";
  root.innerHTML = `
    <div class="dgnb-live-head">
      <span><span class="dgnb-live-dot"></span> <span class="dgnb-live-status"></span></span>
      <span class="dgnb-live-words"></span><span class="dgnb-live-audio"></span>
      <span class="dgnb-live-elapsed"></span><span class="dgnb-live-reconnects"></span>
    </div>
    <div class="dgnb-live-body"><span class="dgnb-live-final"></span><span class="dgnb-live-interim"></span></div>
    <div class="dgnb-live-error"></div>`;
  el.appendChild(style);
  el.appendChild(root);
  const q = (c) => root.querySelector(c);
  const body = q(".dgnb-live-body"), finalEl = q(".dgnb-live-final"), interimEl = q(".dgnb-live-interim");
  let shown = 0; // number of segments already in the DOM

  function atBottom() { return body.scrollHeight - body.scrollTop - body.clientHeight < 24; }

  function segmentNode(s) {
    const span = document.createElement("span");
    span.className = "dgnb-live-seg";
    span.textContent = s.text + (s.brk ? "\n" : " ");
    if (s.speaker !== null && s.speaker !== undefined) {
      const colours = model.get("colours") || ["#1f77b4"];
      span.style.color = colours[Number(s.speaker) % colours.length];
      span.title = `speaker ${s.speaker} · ${Number(s.start).toFixed(2)}–${Number(s.end).toFixed(2)} s`;
      span.dataset.speaker = String(s.speaker);
    } else {
      span.title = `${Number(s.start).toFixed(2)}–${Number(s.end).toFixed(2)} s`;
    }
    return span;
  }

  function drawSegments() {
    const segs = model.get("segments") || [];
    const stick = atBottom();
    if (segs.length < shown) { finalEl.textContent = ""; shown = 0; }
    // the last shown segment may have changed (an utterance break): redraw it
    if (shown > 0 && finalEl.lastChild) { finalEl.removeChild(finalEl.lastChild); shown -= 1; }
    const frag = document.createDocumentFragment();
    for (let i = shown; i < segs.length; i++) frag.appendChild(segmentNode(segs[i]));
    finalEl.appendChild(frag);
    shown = segs.length;
    if (stick) body.scrollTop = body.scrollHeight;
  }

  function drawInterim() {
    const stick = atBottom();
    interimEl.textContent = model.get("interim") || "";
    if (stick) body.scrollTop = body.scrollHeight;
  }

  function drawHead() {
    const status = model.get("status");
    root.dataset.status = status;
    q(".dgnb-live-status").textContent = status;
    const n = model.get("word_count");
    q(".dgnb-live-words").textContent = `${n} word${n === 1 ? "" : "s"}`;
    q(".dgnb-live-audio").textContent = `audio ${clock(model.get("audio_time"))}`;
    const r = model.get("reconnects");
    q(".dgnb-live-reconnects").textContent = r ? `${r} reconnect${r === 1 ? "" : "s"}` : "";
    q(".dgnb-live-error").textContent = model.get("error") || "";
    drawElapsed();
  }

  function drawElapsed() {
    const started = model.get("started"), ended = model.get("ended");
    if (!started) return;
    const now = ended || Date.now();
    q(".dgnb-live-elapsed").textContent = `elapsed ${clock((now - started) / 1000)}`;
  }

  drawSegments(); drawInterim(); drawHead();
  model.on("change:segments", drawSegments);
  model.on("change:interim", drawInterim);
  for (const name of ["status", "word_count", "audio_time", "reconnects", "error", "ended"]) {
    model.on(`change:${name}`, drawHead);
  }
  const timer = setInterval(drawElapsed, 500);
  return () => clearInterval(timer);
}

export default { render };
