// What a denied request concerned, for its audit row: the id from the path, as given (it may be malformed).
export const sessionTarget = (params: { id?: string }) =>
  params.id ? { type: "failback_session", id: params.id } : undefined;
export const replicaTarget = (params: { id?: string }) => (params.id ? { type: "replica", id: params.id } : undefined);
