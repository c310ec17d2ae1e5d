// Installed in every run's context before its code. Captures the host
// functions and removes them from globalThis so code can only reach tools
// through the `tools` proxy.
(() => {
  const invoke = globalThis.__invoke;
  const log = globalThis.__log;
  const sleep = globalThis.__sleep;
  delete globalThis.__invoke;
  delete globalThis.__log;
  delete globalThis.__sleep;

  const show = (v) => {
    if (typeof v === "string") return v;
    if (v instanceof Error) return v.name + ": " + v.message;
    if (v === undefined) return "undefined";
    if (typeof v === "function") return "[Function" + (v.name ? ": " + v.name : "") + "]";
    if (typeof v === "bigint") return v.toString() + "n";
    try {
      const s = JSON.stringify(v);
      return s === undefined ? String(v) : s;
    } catch (_) {
      return String(v);
    }
  };
  const line = (level) => (...args) => log(level, args.map(show).join(" "));
  globalThis.console = {
    log: line("log"),
    info: line("info"),
    warn: line("warn"),
    error: line("error"),
    debug: line("log"),
  };

  class ToolError extends Error {
    constructor(message, path) {
      super(message);
      this.name = "ToolError";
      this.path = path;
    }
  }
  globalThis.ToolError = ToolError;

  // The host answers "o<json>" on success and "e<message>" on failure.
  const call = async (path, args) => {
    const reply = await invoke(path, args === undefined ? "" : JSON.stringify(args));
    if (reply[0] === "o") return JSON.parse(reply.slice(1));
    throw new ToolError(reply.slice(1), path);
  };
  const proxy = (path) =>
    new Proxy(function () {}, {
      get(_target, key) {
        if (typeof key !== "string" || key === "then") return undefined;
        return proxy(path === "" ? key : path + "." + key);
      },
      apply(_target, _this, argv) {
        return call(path, argv[0]);
      },
    });
  Object.defineProperty(globalThis, "tools", { value: proxy(""), enumerable: false });

  let timerSeq = 0;
  const timers = new Set();
  globalThis.setTimeout = (fn, ms, ...args) => {
    const id = ++timerSeq;
    timers.add(id);
    sleep(Math.max(0, Number(ms) || 0)).then(() => {
      if (timers.delete(id) && typeof fn === "function") fn(...args);
    });
    return id;
  };
  globalThis.clearTimeout = (id) => {
    timers.delete(id);
  };

  const describe = (e) => {
    if (e instanceof ToolError) return e.name + ": " + e.message;
    if (e instanceof Error) {
      const head = e.name + ": " + e.message;
      const stack = typeof e.stack === "string" ? e.stack.trimEnd() : "";
      return stack ? head + "\n" + stack : head;
    }
    return "Uncaught " + show(e);
  };
  // Settles a run: "o<json>" for its result, "e<text>" for its error.
  Object.defineProperty(globalThis, "__settle", {
    value: (promise) =>
      promise.then(
        (value) => {
          let json;
          try {
            json = JSON.stringify(value);
          } catch (e) {
            return "eThe result is not JSON: " + show(e);
          }
          return "o" + (json === undefined ? "null" : json);
        },
        (e) => "e" + describe(e),
      ),
    enumerable: false,
  });
})();
