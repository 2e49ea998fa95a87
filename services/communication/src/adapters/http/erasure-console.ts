// The console's "erase a person" form (admin): GET shows it, POST erases and shows the audit ID.
import { html } from '@dlr/html';
import { AppError, type Role } from '@dlr/platform';
import type { FastifyInstance } from 'fastify';
import type { Erasures } from '../../domain/erasure.js';
import { fields, html as send, one, principal } from './console-kit.js';
import { errorList, layout, notice } from './views.js';

const as = (role: Role) => ({ config: { role } });

interface EraseForm {
  email: string;
  phone: string;
  externalId: string;
  reason: string;
}

/** The erase form page; `done` names the erasure just made. */
export function erasePage(
  form: EraseForm,
  problems: readonly string[] = [],
  done?: { erasureId: string; deliveryCount: number },
): string {
  return layout(
    'Erase a person',
    html`<h1>Erase a person</h1>
${notice(done ? `Erasure ${done.erasureId} recorded: ${done.deliveryCount} delivery record(s); every service now removes its copies.` : undefined)}
${errorList('The erasure was not made', problems)}
<p class="hint">Removes the person's name, email address and phone number from every service. Their delivery
records stay in the reports' counts, shown as erased. This cannot be undone; it is audited with your sign-in.</p>
<form method="post" action="/console/erasure">
<label for="email">Email address</label><input id="email" name="email" type="text" autocomplete="off" value="${form.email}">
<label for="phone">Phone number (international format)</label><input id="phone" name="phone" type="text" autocomplete="off" value="${form.phone}">
<label for="external_id">External ID</label><input id="external_id" name="external_id" type="text" autocomplete="off" value="${form.externalId}">
<label for="reason">Reason (required)</label><textarea id="reason" name="reason" rows="3" required>${form.reason}</textarea>
<button type="submit" class="danger">Erase this person</button>
</form>`,
  );
}

/** Registers `GET/POST /console/erasure` (admin) in the console's plugin scope (its form parser). */
export function erasureRoutes(app: FastifyInstance, erasures: Erasures): void {
  const empty: EraseForm = { email: '', phone: '', externalId: '', reason: '' };
  app.get('/console/erasure', as('admin'), async (_request, reply) => send(reply, erasePage(empty)));
  app.post('/console/erasure', as('admin'), async (request, reply) => {
    const f = fields(request);
    const form: EraseForm = {
      email: one(f, 'email'),
      phone: one(f, 'phone'),
      externalId: one(f, 'external_id'),
      reason: one(f, 'reason'),
    };
    try {
      const r = await erasures.erase({ ...form, actor: principal(request) });
      // The identifiers are not echoed back: the page after an erasure shows an empty form.
      return send(reply, erasePage(empty, [], r));
    } catch (error) {
      if (error instanceof AppError && error.code !== 'internal') {
        const status = error.code === 'invalid_argument' ? 400 : error.code === 'unavailable' ? 503 : 409;
        return send(reply, erasePage(form, error.details.length ? error.details : [error.message]), status);
      }
      throw error;
    }
  });
}
