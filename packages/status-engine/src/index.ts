// Public entry point of @dlr/status-engine: the one place the status rules of SPEC §2 live.
// Pure: no I/O, no clock, no randomness.
export type { RankedEvent, StatusEvent } from './event.js';
export {
  countsFromLaneGroups,
  effective,
  emptyCounts,
  flagOf,
  INITIAL_STATE,
  laneOf,
  observationOf,
  outranks,
  PENDING,
  rankEvent,
  tieKey,
  viewOf,
  type Lane,
  type LaneGroup,
  type Observation,
  type RankState,
  type StatusCounts,
  type StatusView,
} from './rank.js';
export {
  isReasonCode,
  isRecordFlag,
  normalizeFlags,
  REASON_CODES,
  RECORD_FLAGS,
  type ReasonCode,
  type RecordFlag,
} from './reasons.js';
export {
  apply,
  countTransition,
  fold,
  foldState,
  INITIAL_RECORD,
  type Applied,
  type StatusRecord,
  type Transition,
} from './record.js';
export {
  HUMAN_ACTION_RANK,
  isHumanAction,
  isStatusKey,
  rankOf,
  STATUS_KEYS,
  STATUSES,
  statusFromProto,
  statusOfRank,
  type StatusInfo,
  type StatusKey,
} from './statuses.js';
export {
  addToTimeline,
  buildTimeline,
  checkTimelineLimits,
  compareEntries,
  EMPTY_TIMELINE,
  hasEvent,
  MAX_DROPPED_IDS,
  TIMELINE_LIMITS,
  timelineEntryOf,
  type Timeline,
  type TimelineEntry,
  type TimelineLimits,
} from './timeline.js';
