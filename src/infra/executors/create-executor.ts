/** Builds the executor the configuration asks for (EXECUTOR = manual | script | simulate). */
import type { Config } from '../../config.js';
import type { Logger } from '../../core/command.js';
import type { Executor } from '../../ports.js';
import { ManualExecutor } from './manual-executor.js';
import { ScriptExecutor } from './script-executor.js';
import { SimulateExecutor } from './simulate-executor.js';
import type { FinishHook } from './simulate-executor.js';

/** What the configuration cannot carry: the logger and the simulated devices' hook. */
export interface CreateExecutorOptions {
  log?: Logger;
  /** For EXECUTOR=simulate: lets simulated devices report the version a run finished with. */
  onSimulatedFinish?: FinishHook;
}

/** The configured executor; throws when EXECUTOR=script has no command (loadConfig already refuses that). */
export function createExecutor(config: Pick<Config, 'executor' | 'runs'>, options: CreateExecutorOptions = {}): Executor {
  switch (config.executor) {
    case 'manual':
      return new ManualExecutor();
    case 'simulate':
      return new SimulateExecutor({
        stepMs: config.runs.simulate.stepMs,
        failures: config.runs.simulate.failures,
        onFinish: options.onSimulatedFinish,
      });
    case 'script': {
      const script = config.runs.script;
      if (!script) throw new Error('EXECUTOR=script needs SCRIPT_COMMAND');
      return new ScriptExecutor({ command: script.command, timeoutMs: script.timeoutMs, log: options.log });
    }
  }
}
