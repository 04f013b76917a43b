/**
 * The address to reach a server listening on `host` from this machine: loopback's for the addresses
 * that mean every interface (0.0.0.0, ::), which are no address to open. reev serve prints it, and
 * the "database in use by reev serve" message points there.
 */
export const reachableHost = (host: string): string => (host === "0.0.0.0" ? "127.0.0.1" : host === "::" ? "::1" : host);
