import { createLogger, loadConfig, runMain } from '@dlr/platform';
import { simulatorConfigShape, simulatorOptions } from './config.js';
import { buildSimulator } from './simulator.js';

runMain('provider-simulator', async () => {
  const config = loadConfig(simulatorConfigShape);
  const logger = createLogger('provider-simulator', config.LOG_LEVEL);
  const simulator = await buildSimulator(simulatorOptions(config), logger);
  const url = await simulator.app.listen({ host: config.HOST, port: config.SIMULATOR_PORT });
  logger.info({ url, callbackDelayMs: config.SIMULATOR_CALLBACK_DELAY_MS }, 'provider simulator listening');
  return { logger, shutdown: [{ name: 'simulator', run: () => simulator.stop() }] };
});
