// A second host for the Send Conversion Event component: Node.js, through
// the WIT contract alone. `sendConversion` is what a Node platform calls
// for one trigger firing.
import { action } from './gen/send_conversion_event.js';

export const describe = () => action.describe();

export const validateSettings = (settings) => action.validateSettings(JSON.stringify(settings));

/**
 * Runs the action for one firing. Returns the outcome (Meta's answer), or
 * throws an Error whose `payload` is the WIT `failure` record.
 */
export function sendConversion(settings, firing, contact) {
  const wireFiring = {
    id: firing.id,
    triggerType: firing.type,
    occurredAt: BigInt(Math.floor(new Date(firing.occurredAt).getTime() / 1000)),
    data: JSON.stringify(firing.data ?? {}),
  };
  const wireContact = {
    id: contact.id,
    emails: contact.emails ?? [],
    phones: contact.phones ?? [],
    firstName: contact.firstName,
    lastName: contact.lastName,
    gender: contact.gender,
    dateOfBirth: contact.dateOfBirth,
    city: contact.city,
    state: contact.state,
    postalCode: contact.postalCode,
    country: contact.country,
    customFields: JSON.stringify(contact.customFields ?? {}),
  };
  return action.execute(JSON.stringify(settings), wireFiring, wireContact);
}
