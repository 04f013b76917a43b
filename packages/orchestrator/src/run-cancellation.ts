/**
 * Why a run was cancelled (or stopped), in the words its record keeps: the abort reason's own message
 * when the caller gave one (`controller.abort(new Error("interrupted (SIGINT)"))`, or a plain string),
 * else `fallback`. An argument-less `abort()` leaves DOMException's "This operation was aborted", which
 * says nothing the status does not; an Error's String() would add "Error: ".
 */
export function cancellationReason(signal: AbortSignal, fallback = "cancelled"): string {
  const reason: unknown = signal.reason;
  if (typeof reason === "string" && reason) return reason;
  if (reason instanceof Error && reason.name !== "AbortError" && reason.message) return reason.message;
  return fallback;
}
