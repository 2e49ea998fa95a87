import { execFile } from 'node:child_process';
import { ensureGrpcurl } from './infra/tools.js';

/** How a grpcurl run ended and what it printed. */
export interface GrpcurlRun {
  /** The exit code (0 = the call succeeded). */
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * Runs `grpcurl -plaintext -max-time <s> <args>` as an operator would (no .proto files: reflection
 * only); grpcurl is built into the harness cache on first use. Resolves for any exit code; throws
 * only when grpcurl cannot be built or run.
 */
export async function grpcurl(args: readonly string[], timeoutMs = 20_000): Promise<GrpcurlRun> {
  const bin = await ensureGrpcurl();
  const argv = ['-plaintext', '-max-time', String(Math.ceil(timeoutMs / 1_000)), ...args];
  return new Promise((resolve, reject) => {
    execFile(bin, argv, { timeout: timeoutMs + 5_000, encoding: 'utf8' }, (error, stdout, stderr) => {
      const code = error === null ? 0 : (error as { code?: unknown }).code;
      if (typeof code !== 'number') reject(new Error(`grpcurl ${args.join(' ')}: ${String(error?.message)}`));
      else resolve({ code, stdout, stderr });
    });
  });
}
