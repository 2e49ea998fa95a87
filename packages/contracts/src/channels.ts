import { Channel } from './gen/dlr/delivery/v1/delivery.pb.js';

/** The channels by name, as services store and show them. */
export type ChannelName = 'email' | 'sms';

/** The name of a wire `Channel`, or undefined for UNSPECIFIED / unrecognized values. */
export function channelName(channel: Channel): ChannelName | undefined {
  switch (channel) {
    case Channel.CHANNEL_EMAIL:
      return 'email';
    case Channel.CHANNEL_SMS:
      return 'sms';
    case Channel.CHANNEL_UNSPECIFIED:
    case Channel.UNRECOGNIZED:
      return undefined;
  }
}

/** The wire `Channel` of a channel name (UNSPECIFIED for anything else). */
export function channelOf(name: string | null | undefined): Channel {
  return name === 'email' ? Channel.CHANNEL_EMAIL : name === 'sms' ? Channel.CHANNEL_SMS : Channel.CHANNEL_UNSPECIFIED;
}
