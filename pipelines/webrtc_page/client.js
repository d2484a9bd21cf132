// The browser side of the WebRTC bot: the browser's own RTCPeerConnection, no libraries.
//
// Signalling is Pipecat's SmallWebRTC protocol: POST /api/offer {sdp, type, pc_id} answers
// {sdp, type, pc_id}. The offer is sent once ICE gathering is complete, so no candidates need
// trickling (PATCH /api/offer) on a LAN or localhost. Pipecat reads the transceivers by
// position (0: microphone, 1: camera, 2: screen); this page sends the microphone only.
//
// Over the data channel: "ping" keep-alives (Pipecat treats a peer silent for 3 s as gone),
// Pipecat's own "signalling" messages, and this project's app messages, labelled
// "pipecat-gemini-live" (see pipecat_gemini_live/apps/bots/messages.py).
"use strict";

const LABEL = "pipecat-gemini-live";
const PING_MS = 1000;
const ICE_GATHERING_TIMEOUT_MS = 3000;

const els = {
  connect: document.getElementById("connect"),
  disconnect: document.getElementById("disconnect"),
  status: document.getElementById("status"),
  personas: document.getElementById("personas"),
  transcript: document.getElementById("transcript"),
  audio: document.getElementById("bot-audio"),
};

const call = { pc: null, dc: null, mic: null, pcId: null, ping: null, botLine: null, persona: null };

function setStatus(text) {
  els.status.textContent = text;
}

function addLine(kind, text) {
  const line = document.createElement("div");
  line.className = `line ${kind}`;
  line.textContent = text;
  els.transcript.appendChild(line);
  line.scrollIntoView({ block: "nearest" });
  return line;
}

function waitForIceGathering(pc, timeoutMs) {
  if (pc.iceGatheringState === "complete") return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      if (pc.iceGatheringState === "complete") {
        pc.removeEventListener("icegatheringstatechange", done);
        resolve();
      }
    };
    pc.addEventListener("icegatheringstatechange", done);
    // Offer with the candidates found so far rather than hang on a slow interface.
    setTimeout(resolve, timeoutMs);
  });
}

// A server started with WEBRTC_AUTH_TOKEN wants it as a bearer token; the page is opened as
// /#token=... so the token stays in the browser (fragments are never sent to the server).
function authHeaders() {
  const token = new URLSearchParams(location.hash.slice(1)).get("token");
  return token ? { Authorization: `Bearer ${token}` } : {};
}

async function postOffer(pc) {
  const response = await fetch("/api/offer", {
    method: "POST",
    headers: { "Content-Type": "application/json", ...authHeaders() },
    body: JSON.stringify({ sdp: pc.localDescription.sdp, type: pc.localDescription.type, pc_id: call.pcId }),
  });
  if (!response.ok) {
    const detail = await response.text();
    throw new Error(`the server refused the call (${response.status}): ${detail}`);
  }
  return response.json();
}

async function negotiate() {
  const pc = call.pc;
  await pc.setLocalDescription(await pc.createOffer());
  await waitForIceGathering(pc, ICE_GATHERING_TIMEOUT_MS);
  const answer = await postOffer(pc);
  call.pcId = answer.pc_id;
  await pc.setRemoteDescription({ type: answer.type, sdp: answer.sdp });
}

function send(message) {
  if (call.dc && call.dc.readyState === "open") {
    call.dc.send(JSON.stringify({ label: LABEL, ...message }));
  }
}

function renderPersonas(personas) {
  els.personas.replaceChildren();
  for (const persona of personas) {
    const button = document.createElement("button");
    button.textContent = persona.title;
    button.dataset.persona = persona.name;
    button.addEventListener("click", () => send({ type: "persona", name: persona.name }));
    els.personas.appendChild(button);
  }
  markPersona(call.persona);
}

function markPersona(name) {
  call.persona = name;
  els.personas.dataset.current = name || "";
  for (const button of els.personas.querySelectorAll("button")) {
    button.classList.toggle("active", button.dataset.persona === name);
  }
}

function onTranscript(message) {
  if (message.role === "user") {
    addLine("user", message.text);
    return;
  }
  if (!call.botLine) {
    call.botLine = addLine("bot speaking", "");
  }
  if (message.final) {
    call.botLine.textContent = message.text;
    call.botLine.classList.remove("speaking");
    call.botLine.classList.toggle("interrupted", Boolean(message.interrupted));
    call.botLine = null;
  } else {
    call.botLine.textContent += message.text;
  }
}

function onAppMessage(message) {
  if (message.type === "signalling") {
    if (message.message && message.message.type === "peerLeft") hangUp("the bot hung up");
    if (message.message && message.message.type === "renegotiate") negotiate().catch(fail);
    return;
  }
  if (message.label !== LABEL) return;
  switch (message.type) {
    case "bot-ready":
      setStatus("connected: talk to the bot");
      renderPersonas(message.personas);
      markPersona(message.persona);
      break;
    case "transcript":
      onTranscript(message);
      break;
    case "persona-changed":
      if (message.ok) {
        markPersona(message.name);
        addLine("note", `Persona: ${message.name} (switched in ${Math.round(message.switch_gap_ms || 0)} ms)`);
      } else {
        addLine("error", `Could not switch to ${message.name}`);
      }
      break;
    case "error":
      addLine("error", message.error);
      break;
  }
}

async function connect() {
  els.connect.disabled = true;
  setStatus("asking for the microphone...");
  try {
    call.mic = await navigator.mediaDevices.getUserMedia({ audio: true, video: false });
    const pc = new RTCPeerConnection();
    call.pc = pc;
    pc.addTransceiver(call.mic.getAudioTracks()[0], { direction: "sendrecv", streams: [call.mic] });
    pc.ontrack = (event) => {
      els.audio.srcObject = event.streams[0] || new MediaStream([event.track]);
      els.audio.play().catch(() => setStatus("connected: click the page to hear the bot"));
    };
    pc.onconnectionstatechange = () => {
      if (pc.connectionState === "failed" || pc.connectionState === "closed") hangUp(`connection ${pc.connectionState}`);
      else if (pc.connectionState !== "connected") setStatus(pc.connectionState);
    };
    const dc = pc.createDataChannel("messages", { ordered: true });
    call.dc = dc;
    dc.onopen = () => {
      call.ping = setInterval(() => dc.readyState === "open" && dc.send(`ping: ${Date.now()}`), PING_MS);
    };
    dc.onmessage = (event) => {
      try {
        onAppMessage(JSON.parse(event.data));
      } catch (e) {
        console.warn("unreadable message from the bot", event.data, e);
      }
    };
    setStatus("connecting...");
    await negotiate();
    els.disconnect.disabled = false;
  } catch (e) {
    fail(e);
  }
}

function fail(error) {
  addLine("error", String(error.message || error));
  hangUp("failed");
}

function hangUp(reason) {
  clearInterval(call.ping);
  if (call.dc) call.dc.close();
  if (call.pc) call.pc.close();
  if (call.mic) call.mic.getTracks().forEach((track) => track.stop());
  Object.assign(call, { pc: null, dc: null, mic: null, pcId: null, ping: null, botLine: null });
  els.connect.disabled = false;
  els.disconnect.disabled = true;
  setStatus(`not connected (${reason})`);
}

els.connect.addEventListener("click", connect);
els.disconnect.addEventListener("click", () => hangUp("you hung up"));
// Closing the peer connection tells the bot at once; a vanished page is only noticed when
// ICE consent expires, about 30 s later.
window.addEventListener("pagehide", () => call.pc && hangUp("page closed"));
