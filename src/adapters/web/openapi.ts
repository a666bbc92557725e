/** The OpenAPI 3.1 description of the JSON API (`GET /api/openapi.json`), written by hand to match api.ts. */
import { REQUEST_STATUSES } from '../../domain/types.js';

const error = {
  type: 'object',
  required: ['error', 'message'],
  properties: { error: { type: 'string', description: 'a stable code, e.g. unknown_requester, hardware_mismatch' }, message: { type: 'string' }, hint: { type: 'string' } },
} as const;

const request = {
  type: 'object',
  required: ['ref', 'status', 'customer', 'devices', 'targetVersion', 'schedule', 'findings', 'approvals'],
  properties: {
    ref: { type: 'string', example: 'UPG-000123' },
    status: { type: 'string', enum: [...REQUEST_STATUSES] },
    customer: { type: 'string' },
    devices: {
      type: 'array',
      items: { type: 'object', required: ['name', 'status', 'runState'], properties: { name: { type: 'string' }, status: { type: 'string' }, runState: { type: ['string', 'null'] } } },
    },
    targetVersion: { type: 'string' },
    schedule: { type: 'object', required: ['mode', 'at'], properties: { mode: { type: 'string', enum: ['now', 'window', 'at'] }, at: { type: ['string', 'null'], format: 'date-time' } } },
    findings: {
      type: 'array',
      items: { type: 'object', required: ['code', 'severity', 'message'], properties: { code: { type: 'string' }, severity: { type: 'string', enum: ['error', 'warning'] }, message: { type: 'string' } } },
    },
    approvals: {
      type: 'array',
      items: {
        type: 'object',
        required: ['by', 'decision', 'via', 'at'],
        properties: { by: { type: 'string' }, decision: { type: 'string', enum: ['approved', 'declined'] }, via: { type: 'string' }, at: { type: 'string', format: 'date-time' } },
      },
    },
  },
} as const;

const newRequest = {
  type: 'object',
  required: ['requester', 'device', 'version', 'when'],
  additionalProperties: false,
  properties: {
    requester: { type: 'string', format: 'email', description: 'the person on record the request is filed as' },
    device: { type: 'string', description: 'device name or serial number' },
    version: { type: 'string', example: '7.1.0' },
    when: { type: 'string', description: 'now, window, or YYYY-MM-DDTHH:MM in the customer timezone (Z or ±HH:MM for another offset)' },
    mac: { type: 'string' },
    ip: { type: 'string' },
    serial: { type: 'string' },
    company: { type: 'string' },
    email: { type: 'string', description: 'where the feedback after the upgrade goes' },
    phone: { type: 'string' },
    note: { type: 'string' },
    forced: { type: 'boolean' },
    redeploy: { type: 'boolean' },
    notify_partner: { type: 'boolean' },
    notify_customer: { type: 'boolean' },
    steps: { type: 'boolean', description: 'file a jump of more than two major versions as consecutive steps' },
  },
} as const;

const errorResponse = (description: string) => ({ description, content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } } });

/** The document served at /api/openapi.json. */
export const OPENAPI_DOCUMENT = {
  openapi: '3.1.0',
  info: {
    title: 'Upgrade Desk API',
    version: '1',
    description: 'Software upgrade requests: read them, and file them through the same checks as chat. Consent always comes from an authorized representative.',
  },
  servers: [{ url: '/' }],
  security: [{ bearer: [] }],
  components: {
    securitySchemes: { bearer: { type: 'http', scheme: 'bearer', description: 'API_TOKEN' } },
    schemas: { Error: error, Request: request, NewRequest: newRequest },
  },
  paths: {
    '/api/requests': {
      get: {
        summary: 'List requests, most recent first',
        parameters: [
          { name: 'status', in: 'query', description: 'comma-separated statuses', schema: { type: 'string' } },
          { name: 'customer', in: 'query', description: 'customer name as on record', schema: { type: 'string' } },
          { name: 'limit', in: 'query', schema: { type: 'integer', minimum: 1, maximum: 1000, default: 100 } },
        ],
        responses: {
          '200': {
            description: 'the requests',
            content: { 'application/json': { schema: { type: 'object', required: ['requests'], properties: { requests: { type: 'array', items: { $ref: '#/components/schemas/Request' } } } } } },
          },
          '400': errorResponse('a bad filter'),
          '401': errorResponse('no or a wrong token'),
        },
      },
      post: {
        summary: 'File a request as a person on record (the same checks as /upgrade request)',
        requestBody: { required: true, content: { 'application/json': { schema: { $ref: '#/components/schemas/NewRequest' } } } },
        responses: {
          '201': { description: 'filed (status awaiting_consent, or rejected with its findings)', content: { 'application/json': { schema: { $ref: '#/components/schemas/Request' } } } },
          '400': errorResponse('the body cannot be read'),
          '401': errorResponse('no or a wrong token'),
          '403': errorResponse('the requester is not on record or may not file'),
          '422': errorResponse('the request cannot be filed as given'),
        },
      },
    },
    '/api/requests/{ref}': {
      get: {
        summary: 'One request',
        parameters: [{ name: 'ref', in: 'path', required: true, schema: { type: 'string', example: 'UPG-000123' } }],
        responses: {
          '200': { description: 'the request', content: { 'application/json': { schema: { $ref: '#/components/schemas/Request' } } } },
          '401': errorResponse('no or a wrong token'),
          '404': errorResponse('no such request'),
        },
      },
    },
  },
} as const;
