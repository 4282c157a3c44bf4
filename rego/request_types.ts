/**
 * The Kata agent requests the rules in `rules.rego` decide, one WebAssembly entrypoint each
 * (`agent_policy/<name>`). `SetPolicyRequest` is always denied.
 *
 * @module
 */

/** Every request type the rules define a result for, in entrypoint order. */
export const REQUEST_TYPES = [
  "AddARPNeighborsRequest",
  "AddSwapRequest",
  "CloseStdinRequest",
  "CopyFileRequest",
  "CreateContainerRequest",
  "CreateSandboxRequest",
  "DestroySandboxRequest",
  "ExecProcessRequest",
  "GetIPTablesRequest",
  "GetMetricsRequest",
  "GetOOMEventRequest",
  "GetVolumeStatsRequest",
  "GuestDetailsRequest",
  "ListInterfacesRequest",
  "ListRoutesRequest",
  "MemHotplugByProbeRequest",
  "OnlineCPUMemRequest",
  "PauseContainerRequest",
  "PullImageRequest",
  "ReadStreamRequest",
  "RemoveContainerRequest",
  "RemoveStaleVirtiofsShareMountsRequest",
  "ReseedRandomDevRequest",
  "ResizeVolumeRequest",
  "ResumeContainerRequest",
  "SetGuestDateTimeRequest",
  "SetIPTablesRequest",
  "SetPolicyRequest",
  "SignalProcessRequest",
  "StartContainerRequest",
  "StartTracingRequest",
  "StatsContainerRequest",
  "StopTracingRequest",
  "TtyWinResizeRequest",
  "UpdateContainerRequest",
  "UpdateEphemeralMountsRequest",
  "UpdateInterfaceRequest",
  "UpdateRoutesRequest",
  "WaitProcessRequest",
  "WriteStreamRequest",
] as const;

/** A request type the rules decide. */
export type RequestType = typeof REQUEST_TYPES[number];

/** {@link REQUEST_TYPES} as a set (a lookup per evaluation instead of a scan of 46 names). */
const REQUEST_TYPE_SET: ReadonlySet<string> = new Set(REQUEST_TYPES);

/** Whether `name` is a request type the rules decide. */
export function isRequestType(name: string): name is RequestType {
  return REQUEST_TYPE_SET.has(name);
}
