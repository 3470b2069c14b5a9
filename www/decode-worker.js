// A decode worker: the same wasm module as the page, used only for `workerDecode` (DICOM bytes in,
// the decoded image out). The input buffer is zero-filled by `workerDecode`; the header bytes and
// the frames are transferred to the page, which zero-fills them once copied. Nothing is kept
// between messages.
import init, { workerDecode } from '../pkg/obscura_viewer.js';

const ready = init();
self.onmessage = async (e) => {
  await ready;
  const { id, bytes } = e.data;
  try {
    const image = workerDecode(new Uint8Array(bytes));
    self.postMessage({ id, ok: true, image }, [image.header.buffer, ...image.frames.map((f) => f.buffer)]);
  } catch (err) {
    self.postMessage({ id, ok: false, error: String(err) });
  }
};
