// Conformance client: the JavaScript SDK @google/genai, unmodified, on Node.
//
// The same scenarios as scenarios.py (read that file for what each one does), driven through
// the SDK's own API. The SDK is loaded from the npm prefix in GENAI_NODE_PREFIX; the emulator's
// CA is trusted through NODE_EXTRA_CA_CERTS (Node's TLS, for both the WebSocket and fetch);
// the base URL goes in httpOptions.baseUrl (the JS SDK reads no base-URL variable).
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';

const require = createRequire(process.env.GENAI_NODE_PREFIX + '/package.json');
const genai = require('@google/genai');
const { GoogleGenAI } = genai;
// The package's exports do not include package.json: read it from the prefix directly.
const genaiVersion = JSON.parse(
  readFileSync(`${process.env.GENAI_NODE_PREFIX}/node_modules/@google/genai/package.json`, 'utf8'),
).version;

class Closed extends Error {
  constructor(code, reason) {
    super(`${code} ${reason}`);
    this.code = code;
    this.reason = reason || '';
  }
}

const camel = (name) => name.replace(/_([a-z])/g, (_, c) => c.toUpperCase());

function kinds(msg) {
  const out = [];
  for (const [rawKey, value] of Object.entries(msg)) {
    const key = camel(rawKey);
    if (key === 'serverContent') {
      for (const [rawSub, body] of Object.entries(value)) {
        const sub = camel(rawSub);
        if (sub === 'modelTurn') {
          for (const part of body.parts || []) out.push(part.inlineData ? 'audio' : 'text');
        } else if (sub === 'interactionStatus') {
          continue; // an annotation of turnComplete, not a message kind
        } else if (body !== null && body !== undefined && body !== false) {
          out.push(sub);
        }
      }
    } else if (key === 'setupComplete') {
      continue; // reported by connect(), as the Python adapters do
    } else if (value !== null && value !== undefined) {
      out.push(key);
    }
  }
  return out;
}

function normalise(msg) {
  const copy = JSON.parse(JSON.stringify(msg));
  for (const part of copy.serverContent?.modelTurn?.parts || []) {
    if (part.inlineData) {
      part.inlineData = { mimeType: part.inlineData.mimeType, bytes: Buffer.from(part.inlineData.data || '', 'base64').length };
    }
  }
  return copy;
}

function pcmChunks(path, ms = 20) {
  const data = readFileSync(path);
  const step = 16 * ms * 2;
  const out = [];
  for (let i = 0; i < data.length; i += step) out.push(data.subarray(i, i + step));
  return out;
}

class NodeClient {
  constructor(plan) {
    this.plan = plan;
    this.session = null;
    this.setupComplete = false;
    this.queue = [];
    this.waiters = [];
  }

  ai(key, apiVersion) {
    const httpOptions = { baseUrl: this.plan.base_url };
    const version = apiVersion || this.plan.api_version;
    if (version) httpOptions.apiVersion = version;
    return new GoogleGenAI({ apiKey: key, httpOptions });
  }

  push(item) {
    const waiter = this.waiters.shift();
    if (waiter) waiter(item);
    else this.queue.push(item);
  }

  async connect(model, config, token = null) {
    await this.close();
    this.queue = [];
    this.waiters = [];
    const ai = token ? this.ai(token, 'v1alpha') : this.ai(this.plan.api_key);
    let connected = false;
    let failConnect;
    // connect() only settles on setupComplete: a close before it would leave it pending.
    const closedEarly = new Promise((_, reject) => { failConnect = reject; });
    const callbacks = {
      onmessage: (msg) => this.push(normalise(msg)),
      onerror: (e) => { if (process.env.NODE_CLIENT_DEBUG) console.error('ws error', e.message || e.error); },
      onclose: (event) => {
        const closed = new Closed(event.code, event.reason);
        this.push(closed);
        if (!connected) failConnect(closed);
      },
    };
    this.session = await Promise.race([ai.live.connect({ model, config, callbacks }), closedEarly]);
    connected = true;
    this.setupComplete = true;
  }

  recv(timeout) {
    return new Promise((resolve, reject) => {
      const deliver = (item) => {
        clearTimeout(timer);
        if (item instanceof Closed) {
          this.queue.unshift(item); // stays closed
          reject(item);
        } else resolve(item);
      };
      const timer = setTimeout(() => {
        const i = this.waiters.indexOf(deliver);
        if (i >= 0) this.waiters.splice(i, 1);
        reject(new Error(`no message in ${timeout} s`));
      }, timeout * 1000);
      if (this.queue.length) deliver(this.queue.shift());
      else this.waiters.push(deliver);
    });
  }

  sendAudio(pcm) {
    this.session.sendRealtimeInput({ audio: { data: pcm.toString('base64'), mimeType: 'audio/pcm;rate=16000' } });
  }

  sendText(text) { this.session.sendRealtimeInput({ text }); }

  sendClientContent(turns, turnComplete) { this.session.sendClientContent({ turns, turnComplete }); }

  sendToolResponse(functionResponses) { this.session.sendToolResponse({ functionResponses }); }

  async createToken(spec) {
    const ai = this.ai(this.plan.api_key, 'v1alpha');
    const token = await ai.authTokens.create({
      config: { uses: spec.uses, liveConnectConstraints: { model: spec.model, config: spec.config } },
    });
    return token.name;
  }

  async close() {
    if (this.session) {
      const session = this.session;
      this.session = null;
      try { session.close(); } catch (e) { /* already closed */ }
    }
  }
}

// -- helpers and scenarios, as in scenarios.py ---------------------------------------------

const turnSummary = () => ({ kinds: [], transcript: '', input: '', audio_bytes: 0, usage_total: null });

function absorb(summary, msg) {
  const ks = kinds(msg);
  for (const k of ks) if (summary.kinds[summary.kinds.length - 1] !== k) summary.kinds.push(k);
  const sc = msg.serverContent || {};
  if (sc.outputTranscription) summary.transcript += sc.outputTranscription.text || '';
  if (sc.inputTranscription) summary.input += sc.inputTranscription.text || '';
  for (const part of sc.modelTurn?.parts || []) if (part.inlineData) summary.audio_bytes += part.inlineData.bytes;
  if (msg.usageMetadata) summary.usage_total = msg.usageMetadata.totalTokenCount ?? null;
  return ks;
}

function shape(seq) {
  const first = [];
  for (const k of seq) if (!first.includes(k)) first.push(k);
  return { first_seen: first, ending: seq.slice(-2) };
}

async function collectTurn(c, onMessage = null, timeout = 20) {
  const summary = turnSummary();
  for (;;) {
    const msg = await c.recv(timeout);
    const ks = absorb(summary, msg);
    if (onMessage) await onMessage(msg, ks);
    if (ks.includes('turnComplete')) return summary;
  }
}

async function untilClosed(c, timeout = 20) {
  const seen = [];
  for (;;) {
    try {
      seen.push(await c.recv(timeout));
    } catch (e) {
      if (e instanceof Closed) return [e, seen];
      throw e;
    }
  }
}

const baseConfig = (persona, extra = {}) => ({
  responseModalities: ['AUDIO'],
  systemInstruction: persona,
  inputAudioTranscription: {},
  outputAudioTranscription: {},
  ...extra,
});

const WEATHER_TOOL = {
  functionDeclarations: [{
    name: 'get_weather',
    description: 'The weather in a city.',
    parameters: { type: 'OBJECT', properties: { city: { type: 'STRING' } } },
  }],
};

function speak(c, path) {
  for (const chunk of pcmChunks(path)) c.sendAudio(chunk);
}

const SCENARIOS = {
  async setup(c, plan) {
    await c.connect(plan.model, baseConfig('You are the setup persona.'));
    const ok = c.setupComplete;
    await c.close();
    return { setup_complete: ok };
  },

  async audio_turn(c, plan) {
    await c.connect(plan.model, baseConfig('You are the audio persona.'));
    speak(c, plan.audio.turn1);
    const t1 = await collectTurn(c);
    speak(c, plan.audio.turn2);
    const t2 = await collectTurn(c);
    await c.close();
    return { turns: [t1, t2] };
  },

  async text_turn(c, plan) {
    await c.connect(plan.model, baseConfig('You are the text persona.'));
    c.sendText('What time is it?');
    const t = await collectTurn(c);
    await c.close();
    return { turn: t };
  },

  async barge_in(c, plan) {
    await c.connect(plan.model, baseConfig('You are the patient persona.'));
    speak(c, plan.audio.long);
    let started = false;
    const cut = await collectTurn(c, async (msg, ks) => {
      if (ks.includes('audio') && !started) {
        started = true;
        speak(c, plan.audio.turn1);
      }
    });
    const answer = await collectTurn(c);
    await c.close();
    return { cut: shape(cut.kinds), answer: shape(answer.kinds), answer_transcript: answer.transcript };
  },

  async tool_call(c, plan) {
    await c.connect(plan.model, baseConfig('You are the weather persona.', { tools: [WEATHER_TOOL] }));
    speak(c, plan.audio.turn1);
    const summary = turnSummary();
    let calls = [];
    while (!calls.length) {
      const msg = await c.recv(20);
      absorb(summary, msg);
      calls = msg.toolCall?.functionCalls || [];
    }
    c.sendToolResponse(calls.map((x) => ({ id: x.id, name: x.name, response: { temp_c: 21, sky: 'clear' } })));
    const t = await collectTurn(c);
    await c.close();
    return { calls: calls.map((x) => ({ name: x.name, args: x.args ?? null })), before_call: summary.kinds, turn: t };
  },

  async resumption(c, plan) {
    await c.connect(plan.model, baseConfig('You are the durable persona.', { sessionResumption: {} }));
    speak(c, plan.audio.turn1);
    const first = await collectTurn(c);
    const [closed, rest] = await untilClosed(c);
    let handle = null;
    let goAway = null;
    for (const msg of rest) {
      if (msg.sessionResumptionUpdate?.newHandle) handle = msg.sessionResumptionUpdate.newHandle;
      if (msg.goAway) goAway = msg.goAway.timeLeft;
    }
    await c.close();
    await c.connect(plan.model, baseConfig('You are the durable persona.', { sessionResumption: { handle } }));
    speak(c, plan.audio.turn2);
    const second = await collectTurn(c);
    await c.close();
    return {
      first: first.transcript,
      go_away_time_left_is_duration: Boolean(goAway && /^[0-9.]+s$/.test(goAway)),
      handle_after_turn: handle !== null,
      close: [closed.code, closed.reason],
      resumed: second.transcript,
    };
  },

  async close(c, plan) {
    await c.connect(plan.model, baseConfig('You are the fragile persona.'));
    speak(c, plan.audio.turn1);
    const [closed, seen] = await untilClosed(c);
    await c.close();
    return { close: [closed.code, closed.reason], audio_before_close: seen.some((m) => kinds(m).includes('audio')) };
  },

  async client_content_31(c, plan) {
    await c.connect(plan.model, baseConfig('You are the strict persona.'));
    c.sendText('Hello there.');
    const t = await collectTurn(c);
    c.sendClientContent([{ role: 'user', parts: [{ text: 'A late thought.' }] }], true);
    const [closed] = await untilClosed(c);
    await c.close();
    return { first_turn: t.kinds.slice(-2), close: [closed.code, closed.reason] };
  },

  async initial_history_31(c, plan) {
    await c.connect(plan.model, baseConfig('You are the seeded persona.', { historyConfig: { initialHistoryInClientContent: true } }));
    c.sendClientContent([
      { role: 'user', parts: [{ text: 'My name is Ada.' }] },
      { role: 'model', parts: [{ text: 'Hello Ada.' }] },
    ], false);
    speak(c, plan.audio.turn1);
    let t;
    try {
      t = await collectTurn(c);
    } catch (e) {
      if (!(e instanceof Closed)) throw e;
      return { close: [e.code, e.reason] }; // a client that cannot send historyConfig meets the 3.1 rule instead
    }
    await c.close();
    return { turn: t };
  },

  async ephemeral_token(c, plan) {
    const token = await c.createToken({ uses: 1, model: plan.model, config: baseConfig('You are the token persona.') });
    await c.connect(plan.model, baseConfig('You are an impostor persona.'), token);
    speak(c, plan.audio.turn1);
    const t = await collectTurn(c);
    await c.close();
    let reuse;
    try {
      await c.connect(plan.model, baseConfig('You are an impostor persona.'), token);
      c.sendText('again');
      const [closed] = await untilClosed(c);
      reuse = [closed.code, closed.reason];
    } catch (e) {
      if (!(e instanceof Closed)) throw e;
      reuse = [e.code, e.reason];
    }
    await c.close();
    return { token_prefix: token.split('/')[0] + '/', turn: t, reuse };
  },
};

async function runOne(plan) {
  const c = new NodeClient(plan);
  let timer;
  try {
    const timeout = new Promise((_, reject) => { timer = setTimeout(() => reject(new Error('scenario timed out')), 60000); });
    const result = await Promise.race([SCENARIOS[plan.scenario](c, plan), timeout]);
    return { ok: true, ...result };
  } catch (e) {
    return { ok: false, error: `${e.name}: ${e.message}`, trace: String(e.stack || '').slice(-1500) };
  } finally {
    clearTimeout(timer);
    await c.close();
  }
}

const input = JSON.parse(readFileSync(0, 'utf8'));
const results = [];
for (const plan of input.plans) results.push(await runOne(plan));
console.log(JSON.stringify({ client: { name: '@google/genai', version: genaiVersion, node: process.versions.node }, results }));
process.exit(0);
