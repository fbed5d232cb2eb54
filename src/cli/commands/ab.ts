import type { Command } from 'commander';
import { assignVariant, findExperiment } from '../../analyses/assign.js';
import { contextOf } from '../context.js';

export function register(program: Command): void {
  const ab = program.command('ab').description('A/B tests declared under experiments: in the config');
  ab.command('assign')
    .description("Print a user's variant in an experiment (stable; see docs/analyses.md for the hash)")
    .requiredOption('--experiment <name>', 'experiment name')
    .requiredOption('--user <id>', 'user id')
    .action((opts: { experiment: string; user: string }, cmd: Command) => {
      const { config } = contextOf(cmd);
      process.stdout.write(
        `${assignVariant(findExperiment(config.experiments, opts.experiment), opts.user)}\n`,
      );
    });
}
