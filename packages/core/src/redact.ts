/**
 * A server URL fit for logs and error messages: whatever stands before `@` in its authority (a user
 * and password, or a token) becomes `***`, so `nats://user:pass@host:4222` → `nats://***@host:4222`
 * (`token@host` → `***@host`). Anything else is returned as it is. Never throws.
 */
export function redactUrl(url: string): string {
  return url.replace(/^(\s*(?:[a-z][a-z0-9+.-]*:\/\/)?)[^@/?#\s]*@/i, '$1***@');
}
