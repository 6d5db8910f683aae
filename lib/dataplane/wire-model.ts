// What a two-site deployment moves between the sites, for the bytesSent counter. In this process both handles
// are local; the counter models the protocol in which a digest server runs next to the target disk and the
// sender next to the source disk:
//   - both sides exchange their allocation maps for the wanted regions (one extent = offset + length);
//   - the target side sends one digest per block it read (blocks it knows to be zero need none: the source side
//     knows the zero block's digest);
//   - the source side sends each run of differing blocks as one header plus the data;
//   - a block that is zero on the source and holds data on the target travels as a zero command: a header, no data.

export const MAP_EXTENT_BYTES = 16;
export const DIGEST_BYTES = 8;
export const RUN_HEADER_BYTES = 32;
export const ZERO_COMMAND_BYTES = 32;
