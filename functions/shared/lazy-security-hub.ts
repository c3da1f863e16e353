// What the first finding loads (see live-deps.ts): the sink and the member-account clients it sends through, as
// one lazy file, so that the client and the commands sent through it come from one copy of the SDK.
export { createMemberAccountClients } from '#adapters/aws/member-account-clients.ts';
export { createSecurityHubFindingSink } from '#adapters/aws/securityhub-finding-sink.ts';
