/** A member of a structure/union, or the member/key/value of a list/map: a target shape plus the member's traits. */
export interface MemberRef {
  target: string;
  traits?: Record<string, unknown>;
}

/** A trimmed Smithy shape (ids without the service namespace; prelude shapes keep `smithy.api#`). */
export interface Shape {
  type: string;
  traits?: Record<string, unknown>;
  member?: MemberRef;
  key?: MemberRef;
  value?: MemberRef;
  members?: Record<string, MemberRef>;
}

/** A trimmed service model as committed in local/models/<service>.json by extract.ts. */
export interface ModelExtract {
  /** Where the full model came from: repository, commit, file, and the service shape id. */
  source: { repository: string; commit: string; file: string; service: string };
  protocol: 'awsJson1_0' | 'awsJson1_1' | 'awsQuery' | 'restXml' | 'restJson1';
  operations: Record<string, { input: string; output: string; http?: { method: string; uri: string; code?: number } }>;
  shapes: Record<string, Shape>;
}
