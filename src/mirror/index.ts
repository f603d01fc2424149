export { MoveItMirror } from "./mirror.js";
export type { MoveItMirrorOptions } from "./mirror.js";
