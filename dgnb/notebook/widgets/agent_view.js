// AgentView: chat bubbles for the conversation, and the agent's raw audio played with Web Audio.
// The root element says what it played: data-audio-chunks (chunks scheduled), data-audio-seconds
// (their total duration) and data-audio-state (the AudioContext's state: "running" once playing).
function decode(buffer, encoding) {
  if (encoding === "linear16") {
    const pcm = new Int16Array(buffer.buffer, buffer.byteOffset, Math.floor(buffer.byteLength / 2));
    return Float32Array.from(pcm, (v) => v / 32768);
  }
  const bytes = new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength);
  const out = new Float32Array(bytes.length);
  for (let i = 0; i < bytes.length; i++) {
    let u = ~bytes[i] & 0xff;
    if (encoding === "mulaw") {
      const t = (((u & 0x0f) << 3) + 0x84) << ((u & 0x70) >> 4);
      out[i] = ((u & 0x80) ? 0x84 - t : t - 0x84) / 32768;
    } else {
      u = bytes[i] ^ 0x55;
      let t = (u & 0x0f) << 4;
      const seg = (u & 0x70) >> 4;
      t = seg === 0 ? t + 8 : seg === 1 ? t + 0x108 : (t + 0x108) << (seg - 1);
      out[i] = ((u & 0x80) ? t : -t) / 32768;
    }
  }
  return out;
}

function render({ model, el }) {
  const root = document.createElement("div");
  root.className = "dgnb-agent";
  root.dataset.audioChunks = "0";
  root.dataset.audioSeconds = "0";
  root.dataset.audioState = "none";
  root.style.cssText = "font-family: sans-serif; font-size: 14px; max-width: 640px";
  const head = document.createElement("div");
  head.className = "dgnb-agent-status";
  head.style.cssText = "color: #555; margin-bottom: 6px";
  const list = document.createElement("div");
  list.className = "dgnb-agent-turns";
  const notice = document.createElement("div");
  notice.className = "dgnb-agent-notice";
  notice.style.cssText = "color: #b00; margin-top: 6px";
  root.append(head, list, notice);
  el.append(root);
  let ctx = null;
  let playAt = 0;

  function draw() {
    head.textContent = "Voice agent: " + model.get("status");
    notice.textContent = model.get("notice");
    list.replaceChildren(...model.get("turns").map((t) => {
      const row = document.createElement("div");
      const user = t.role === "user";
      row.className = "dgnb-agent-turn dgnb-agent-" + (user ? "user" : "assistant");
      row.style.cssText = `margin: 4px 0; padding: 6px 10px; border-radius: 10px; max-width: 80%;
        background: ${user ? "#dbeafe" : "#f3f4f6"}; margin-${user ? "left" : "right"}: auto`;
      row.textContent = (user ? "You: " : "Agent: ") + t.content;
      return row;
    }));
  }
  model.on("change:turns", draw);
  model.on("change:status", draw);
  model.on("change:notice", draw);
  model.on("msg:custom", (msg, buffers) => {
    if (msg.type !== "audio" || !model.get("play") || !buffers.length) return;
    const rate = model.get("sample_rate");
    if (!ctx) {
      ctx = new AudioContext({ sampleRate: rate });
      ctx.onstatechange = () => { root.dataset.audioState = ctx.state; };
      root.dataset.audioState = ctx.state;
    }
    const samples = decode(buffers[0], model.get("encoding"));
    if (!samples.length) return;
    const audio = ctx.createBuffer(1, samples.length, rate);
    audio.copyToChannel(samples, 0);
    const source = ctx.createBufferSource();
    source.buffer = audio;
    source.connect(ctx.destination);
    playAt = Math.max(playAt, ctx.currentTime + 0.05);
    source.start(playAt);
    playAt += audio.duration;
    root.dataset.audioChunks = String(Number(root.dataset.audioChunks) + 1);
    root.dataset.audioSeconds = (Number(root.dataset.audioSeconds) + audio.duration).toFixed(3);
  });
  draw();
}

export default { render };
