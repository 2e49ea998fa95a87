export * from './topology.js';
export {
  Channel,
  channelToJSON,
  channelFromJSON,
  DeliveryStatus,
  deliveryStatusToJSON,
  deliveryStatusFromJSON,
  EventSource,
  eventSourceToJSON,
  DeliveryEvent,
} from './gen/dlr/delivery/v1/delivery.pb.js';
export {
  AddedDelivery,
  MessageContent,
  PersonErased,
  RecipientsAdded,
  SendRequested,
} from './gen/dlr/communication/v1/events.pb.js';
export {
  AddRecipientsRequest,
  AddRecipientsResponse,
  Communication,
  CommunicationServiceClient,
  CommunicationServiceService,
  CommunicationState,
  communicationStateToJSON,
  CreateCommunicationRequest,
  CreateCommunicationResponse,
  DeliveryRef,
  GetCommunicationRequest,
  GetCommunicationResponse,
  RecipientInput,
  SendCommunicationRequest,
  SendCommunicationResponse,
  ChannelPreview,
  ChannelPreviewSummary,
  DeliveryOutcome,
  GetRecipientHistoryRequest,
  GetRecipientHistoryResponse,
  ListCommunicationsRequest,
  ListCommunicationsResponse,
  OverridePreferencesRequest,
  OverridePreferencesResponse,
  PreferenceOverride,
  PreviewDeliveryRequest,
  PreviewDeliveryResponse,
  RecipientHistoryEntry,
  RecipientPreview,
  ResendCommunicationRequest,
  ResendCommunicationResponse,
  ResendScope,
  SmsEncoding,
  SmsSegments,
  LiftSuppressionRequest,
  LiftSuppressionResponse,
  ErasePersonRequest,
  ErasePersonResponse,
} from './gen/dlr/communication/v1/communication.pb.js';
export {
  AuditEntry as AuditEntryMessage,
  AuditKind,
  CancelCommunicationRequest,
  CancelCommunicationResponse,
  Cancellation,
  ListAuditLogRequest,
  ListAuditLogResponse,
  ListSuppressionsRequest,
  ListSuppressionsResponse,
  Suppression,
} from './gen/dlr/communication/v1/communication.pb.js';
export {
  CreateTemplateRequest,
  CreateTemplateResponse,
  ListTemplatesRequest,
  ListTemplatesResponse,
  MessageSample,
  PreviewProgress,
  Template,
} from './gen/dlr/communication/v1/communication.pb.js';
export type { CommunicationServiceServer } from './gen/dlr/communication/v1/communication.pb.js';
export {
  DeliveryRecord,
  ListDeliveryRecordsRequest,
  ListDeliveryRecordsResponse,
  ReportingServiceClient,
  ReportingServiceService,
  StatusCount,
  WatchDeliveryRecordsRequest,
  WatchDeliveryRecordsResponse,
} from './gen/dlr/reporting/v1/reporting.pb.js';
export type { ReportingServiceServer } from './gen/dlr/reporting/v1/reporting.pb.js';
export { channelName, channelOf, type ChannelName } from './channels.js';
export { LinkContent, ShortLinkIssued, SuppressionLifted } from './gen/dlr/feedback/v1/links.pb.js';
export {
  normalizeAddress,
  SUPPRESSION_REPLICA_CONCURRENCY,
  suppressionFact,
  suppressionKey,
  suppressionReason,
  passedByOverride,
  type SuppressionEntry,
  type SuppressionFact,
  type SuppressionReason,
} from './suppression.js';
export { StatusChanged } from './gen/dlr/reporting/v1/events.pb.js';
export { RawCallbackReceived } from './gen/dlr/callback/v1/raw_callback.pb.js';
export { fileDescriptorProtos } from './descriptors.js';
export {
  decodePersonErased,
  ERASED,
  erasureHash,
  mentionsAddress,
  newErasureSalt,
  normalizeName,
  scrubNames,
  type ErasureHashKind,
} from './erasure.js';
export {
  SIMULATOR_SIGNATURE_HEADER,
  SIMULATOR_TIMESTAMP_HEADER,
  signSimulatorCallback,
  verifySimulatorSignature,
} from './simulator-signature.js';
