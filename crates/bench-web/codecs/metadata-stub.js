// Stands in for @cornerstonejs/metadata in the peer bundle: the wadouri frame extraction imports it
// only for a logger (getUncompressedImageFrame warns on one odd header). The real package pulls in
// dcmjs and @cornerstonejs/core, which the decoding path never touches.
export const logging = { loaderLog: { getLogger: () => console } };
