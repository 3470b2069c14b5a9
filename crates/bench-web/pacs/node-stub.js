// Stands in for the Node built-ins `url` and `events` in the Cornerstone bundle: dcmjs (imported by
// @cornerstonejs/metadata) pulls in xmlbuilder2, whose modules require them at load time although
// loading and showing images never builds XML. Cornerstone apps' webpack configurations stub
// Node built-ins the same way.
export class EventEmitter {
  on() { return this; }
  emit() { return false; }
}
export const domainToASCII = (s) => s;
export const domainToUnicode = (s) => s;
export default { EventEmitter, domainToASCII, domainToUnicode };
