/** The request form (e-mail or web) filled in as Jane Doe of Acme Corp would, for edge-01 (the demo records). */
import { formTemplate } from '../../src/adapters/email/form.js';
import type { FormValues } from '../../src/adapters/email/form.js';

/** Jane's form values for edge-01 5.2.0 → 7.1.0 in the next window, with `over` applied. */
export function acmeFormValues(over: FormValues = {}): FormValues {
  return {
    company: 'Acme Corp',
    contact: 'Jane Doe',
    email: 'jane@acme.example',
    phone: '+1 555 0100',
    device: 'edge-01',
    serial: 'SN-1001',
    mac: '00:1A:2B:3C:4D:5E',
    ip: '203.0.113.10',
    version: '7.1.0',
    when: 'window',
    notes: 'Call Bob first',
    ...over,
  };
}

/** The same as the text of a form e-mail. */
export function acmeForm(over: FormValues = {}): string {
  return formTemplate(acmeFormValues(over));
}
