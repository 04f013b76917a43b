/**
 * Why a run was cancelled, in the words its record keeps: the abort reason's own message when the
 * caller gave one (`controller.abort(new Error("interrupted (SIGINT)"))`, or a plain string), else
 * "cancelled". An argument-less `abort()` leaves DOMException's "This operation was aborted", which
 * says nothing the status does not.
 */
export function cancellationReason(signal: AbortSignal): string {
  const reason: unknown = signal.reason;
  if (typeof reason === "string" && reason) return reason;
  if (reason instanceof Error && reason.name !== "AbortError" && reason.message) return reason.message;
  return "cancelled";
}
