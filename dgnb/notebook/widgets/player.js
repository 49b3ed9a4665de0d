// Player front end (anywidget ES module, no build step): audio + transcript, highlight and click-to-seek.
const CSS = `
.dgnb-player { font-family: var(--jp-content-font-family, sans-serif); font-size: 14px; line-height: 1.6;
  border: 1px solid var(--jp-border-color2, #ddd); border-radius: 6px; padding: 8px 10px; max-width: 100%; }
.dgnb-player audio { width: 100%; margin-bottom: 6px; }
.dgnb-player-text { overflow-y: auto; }
.dgnb-player-turn { margin: 0 0 6px 0; }
.dgnb-player-who { font-size: 12px; font-weight: 600; margin-right: 6px; }
.dgnb-player-word { cursor: pointer; border-radius: 3px; padding: 0 1px; }
.dgnb-player-word:hover { background: rgba(0, 0, 0, 0.06); }
.dgnb-player-word.dgnb-on { background: #ffe066; color: #000; }
.dgnb-player-time { font-size: 12px; color: #666; }
`;

function clock(seconds) {
  const s = Math.max(0, seconds || 0);
  const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), r = (s % 60).toFixed(1).padStart(4, "0");
  return h ? `${h}:${String(m).padStart(2, "0")}:${r}` : `${m}:${r}`;
}

// index of the last word starting at or before t (-1 before the first word)
function wordAt(words, t) {
  let lo = 0, hi = words.length - 1, found = -1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (words[mid].s <= t + 1e-6) { found = mid; lo = mid + 1; } else { hi = mid - 1; }
  }
  return found;
}

function render({ model, el }) {
  const style = document.createElement("style");
  style.textContent = CSS;
  const root = document.createElement("div");
  root.className = "dgnb-player";
  const audio = document.createElement("audio");
  audio.controls = true;
  audio.preload = "auto";
  const time = document.createElement("div");
  time.className = "dgnb-player-time";
  const text = document.createElement("div");
  text.className = "dgnb-player-text";
  root.append(audio, time, text);
  el.append(style, root);

  let objectUrl = null;
  function loadAudio() {
    if (objectUrl) URL.revokeObjectURL(objectUrl);
    objectUrl = null;
    const url = model.get("audio_url");
    const data = model.get("audio");
    if (url) {
      audio.src = url;
    } else if (data && data.byteLength) {
      const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
      objectUrl = URL.createObjectURL(new Blob([bytes], { type: model.get("mime") || "audio/wav" }));
      audio.src = objectUrl;
    }
  }

  let words = [], spans = [], current = -1;
  function drawWords() {
    words = model.get("words") || [];
    const colours = model.get("colours") || [];
    text.textContent = "";
    text.style.maxHeight = `${model.get("height")}px`;
    spans = [];
    let turn = null, speaker;
    words.forEach((w, i) => {
      if (!turn || w.k !== speaker) {
        speaker = w.k;
        turn = document.createElement("div");
        turn.className = "dgnb-player-turn";
        if (speaker !== null && speaker !== undefined) {
          const who = document.createElement("span");
          who.className = "dgnb-player-who";
          who.textContent = `Speaker ${speaker}`;
          who.style.color = colours[speaker % colours.length];
          turn.dataset.speaker = String(speaker);
          turn.appendChild(who);
        }
        text.appendChild(turn);
      }
      const span = document.createElement("span");
      span.className = "dgnb-player-word";
      span.textContent = w.w;
      span.dataset.i = String(i);
      span.dataset.start = String(w.s);
      span.title = `${clock(w.s)}`;
      if (speaker !== null && speaker !== undefined) span.style.color = colours[speaker % colours.length];
      turn.append(span, document.createTextNode(" "));
      spans.push(span);
    });
    current = -1;
    highlight(audio.currentTime || 0);
  }

  function highlight(t) {
    time.textContent = `${clock(t)} / ${clock(isFinite(audio.duration) ? audio.duration : 0)}`;
    const i = wordAt(words, t);
    if (i === current) return;
    if (current >= 0 && spans[current]) spans[current].classList.remove("dgnb-on");
    current = i;
    if (i >= 0 && spans[i]) {
      spans[i].classList.add("dgnb-on");
      const box = text.getBoundingClientRect(), r = spans[i].getBoundingClientRect();
      if (r.top < box.top || r.bottom > box.bottom) text.scrollTop += r.top - box.top - box.height / 3;
    }
  }

  let lastSync = 0;
  function syncTime(force) {
    const now = Date.now();
    if (!force && now - lastSync < 1000) return;
    lastSync = now;
    model.set("time", audio.currentTime || 0);
    model.save_changes();
  }

  function seek(t) {
    audio.currentTime = Math.max(0, t);
    highlight(audio.currentTime);
    syncTime(true);
  }

  text.addEventListener("click", (event) => {
    const span = event.target.closest(".dgnb-player-word");
    if (span) seek(Number(span.dataset.start));
  });
  let frame = null;
  function tick() {
    highlight(audio.currentTime);
    syncTime(false);
    frame = audio.paused ? null : requestAnimationFrame(tick);
  }
  audio.addEventListener("play", () => { if (!frame) frame = requestAnimationFrame(tick); });
  audio.addEventListener("timeupdate", () => highlight(audio.currentTime));
  audio.addEventListener("seeked", () => highlight(audio.currentTime));
  audio.addEventListener("pause", () => syncTime(true));
  audio.addEventListener("loadedmetadata", () => highlight(audio.currentTime));

  model.on("msg:custom", (msg) => { if (msg && typeof msg.seek === "number") seek(msg.seek); });
  model.on("change:words", drawWords);
  model.on("change:colours", drawWords);
  model.on("change:audio", loadAudio);
  model.on("change:audio_url", loadAudio);
  loadAudio();
  drawWords();
  return () => {
    if (frame) cancelAnimationFrame(frame);
    if (objectUrl) URL.revokeObjectURL(objectUrl);
  };
}

export default { render };
