export {
  addressProblem,
  DEFAULT_OUTCOMES,
  magicOutcome,
  outcomeReason,
  parseOutcomeWeights,
  pickOutcome,
  type CallbackStatus,
  type OutcomeWeights,
  type SimulatorCallback,
  type SimulatorChannel,
  type SimulatorErrorBody,
  type SimulatorEventType,
  type SimulatorMessage,
  type SimulatorMetadata,
  type SimulatorOutbox,
  type SimulatorOutcome,
  type SimulatorSendAccepted,
  type SimulatorSendRequest,
} from './protocol.js';
export { buildSimulator, type Simulator, type SimulatorOptions, type SimulatorStats } from './simulator.js';
export { simulatorConfigShape, simulatorOptions, type SimulatorConfig } from './config.js';
