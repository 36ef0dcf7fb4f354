import { AsyncLocalStorage } from 'node:async_hooks';

/**
 * Each local Lambda invocation's own environment. The runner executes handlers in-process and
 * concurrently (Map iterations), and the handlers (and the AWS SDK's credential and endpoint
 * providers) read `process.env`; assigning it per invocation would let one invocation read
 * another's credentials. Instead `process.env` becomes, once, a view that reads the environment
 * of the invocation the current async context belongs to (AsyncLocalStorage) before the
 * process's own; writes inside an invocation stay in that invocation.
 */
const current = new AsyncLocalStorage<Record<string, string | undefined>>();
let installed = false;

function installEnvironmentView(): void {
  if (installed) return;
  installed = true;
  const base = process.env;
  const own = (): Record<string, string | undefined> | undefined => current.getStore();
  process.env = new Proxy(base, {
    get(target, name) {
      const env = own();
      if (env && typeof name === 'string' && Object.prototype.hasOwnProperty.call(env, name)) return env[name];
      return Reflect.get(target, name);
    },
    set(target, name, value) {
      const env = own();
      if (env && typeof name === 'string') {
        env[name] = value === undefined ? undefined : String(value);
        return true;
      }
      return Reflect.set(target, name, value);
    },
    deleteProperty(target, name) {
      const env = own();
      if (env && typeof name === 'string') {
        env[name] = undefined;
        return true;
      }
      return Reflect.deleteProperty(target, name);
    },
    has(target, name) {
      const env = own();
      if (env && typeof name === 'string' && Object.prototype.hasOwnProperty.call(env, name))
        return env[name] !== undefined;
      return Reflect.has(target, name);
    },
    ownKeys(target) {
      const env = own();
      const keys = new Set(Reflect.ownKeys(target));
      for (const [k, v] of Object.entries(env ?? {})) {
        if (v === undefined) keys.delete(k);
        else keys.add(k);
      }
      return [...keys];
    },
    getOwnPropertyDescriptor(target, name) {
      const env = own();
      if (env && typeof name === 'string' && Object.prototype.hasOwnProperty.call(env, name)) {
        const value = env[name];
        return value === undefined ? undefined : { value, writable: true, enumerable: true, configurable: true };
      }
      return Reflect.getOwnPropertyDescriptor(target, name);
    },
  });
}

/** Runs `fn` (and everything it starts asynchronously) with `env` over the process's environment. */
export function withInvocationEnvironment<T>(env: Record<string, string>, fn: () => T): T {
  installEnvironmentView();
  return current.run({ ...env }, fn);
}
