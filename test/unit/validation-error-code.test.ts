import Fastify from 'fastify';
import { afterAll, describe, expect, it } from 'vitest';
import { installErrorReplies } from '../../gateway/http/error-reply.js';

/** A route schema's refusal (fastify + ajv) answers in Switchyard's error shape, with a code from the table. */
const app = Fastify();
installErrorReplies(app);
app.post(
  '/check/:id',
  {
    schema: {
      params: { type: 'object', properties: { id: { type: 'string', pattern: '^[a-z]+$' } } },
      body: { type: 'object', required: ['decision'], properties: { decision: { enum: ['approve', 'correct'] } } },
    },
  },
  async () => ({ ok: true }),
);
afterAll(() => app.close());

describe('schema validation errors', () => {
  it('a parameter: 400 invalid_parameter naming the field, not echoing the value', async () => {
    const reply = await app.inject({ method: 'POST', url: '/check/SECRET1', payload: { decision: 'approve' } });
    expect(reply.statusCode).toBe(400);
    expect(reply.json()).toEqual({ code: 'invalid_parameter', error: 'params/id must match pattern "^[a-z]+$"' });
  });

  it('a body: 400 invalid_request naming the field', async () => {
    const reply = await app.inject({ method: 'POST', url: '/check/abc', payload: { decision: 'SECRET2' } });
    expect(reply.statusCode).toBe(400);
    expect(reply.json().code).toBe('invalid_request');
    expect(reply.json().error).toMatch(/^body\/decision must be equal to one of the allowed values$/);
  });

  it('a valid request reaches the handler', async () => {
    expect((await app.inject({ method: 'POST', url: '/check/abc', payload: { decision: 'approve' } })).json()).toEqual({ ok: true });
  });
});
