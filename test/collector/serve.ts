// Starts a real `adpipe serve` from source in a child process (one a test can SIGKILL).
import { type ChildProcess, spawn } from 'node:child_process';
import path from 'node:path';

const CLI = path.resolve('test/collector/cli.ts');

/** Resolves once the server announces its address. `args` follow `serve --port 0`. */
export function serve(
  dataDir: string,
  config: string,
  { args = [] }: { args?: string[] } = {},
): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', CLI, '--config', config, '--data-dir', dataDir, 'serve', '--port', '0', ...args],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /serving on (http:\/\/\S+)/.exec(out);
      if (m) resolve({ child, url: m[1]! });
    });
    child.once('exit', (code) => reject(new Error(`serve exited early with ${code}: ${out}`)));
  });
}
