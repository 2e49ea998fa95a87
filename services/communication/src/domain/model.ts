/** A channel a communication can be sent through. */
export type ChannelName = 'email' | 'sms';

/** A communication is a draft until sent; `sending` while its send requests are being published. */
export type CommunicationStateName = 'draft' | 'sending' | 'sent';

/** A communication as stored. */
export interface CommunicationDoc {
  _id: string;
  title: string;
  emailSubject: string;
  emailBody: string;
  smsText: string;
  channels: ChannelName[];
  acknowledgementRequested: boolean;
  responseOptions: string[];
  state: CommunicationStateName;
  createdAt: Date;
  sendStartedAt?: Date;
  sentAt?: Date;
}

/** One recipient × channel of a communication: a delivery record's origin. */
export interface DeliveryDoc {
  _id: string;
  communicationId: string;
  recipientKey: string;
  name: string;
  channel: ChannelName;
  /** Email address or E.164 phone number: personal data, never logged. */
  address: string;
  createdAt: Date;
}
