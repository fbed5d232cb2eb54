// Starting a worker thread or a child process from a module beside the caller, in both forms this
// code runs in: built JavaScript (dist/) and TypeScript under tsx or vitest (src/), where the worker
// must register tsx before it can load a .ts module.

import { type ChildProcess, fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Worker, type WorkerOptions } from 'node:worker_threads';

/** A worker running `name` (without extension) from the directory of `callerUrl` (import.meta.url). */
export function startWorker(callerUrl: string, name: string, options: WorkerOptions = {}): Worker {
  const ts = callerUrl.endsWith('.ts');
  const url = new URL(`./${name}.${ts ? 'ts' : 'js'}`, callerUrl);
  return ts
    ? new Worker(
        `import('tsx/esm/api').then((tsx) => { tsx.register(); return import(${JSON.stringify(url.href)}); })`,
        { ...options, eval: true },
      )
    : new Worker(url, options);
}

/** A child process running `name` from beside `callerUrl`, as startWorker does for threads. */
export function startChildProcess(callerUrl: string, name: string, args: string[]): ChildProcess {
  const ts = callerUrl.endsWith('.ts');
  const file = fileURLToPath(new URL(`./${name}.${ts ? 'ts' : 'js'}`, callerUrl));
  return fork(file, args, {
    execArgv: ts ? ['--import', 'tsx'] : [],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
}
