// Framing of the HSM's lean transport: every message, request or response,
// is a u32 big-endian payload length followed by the payload. Empty payloads
// are allowed. A receiver refuses a length above its max frame size by
// closing the connection (it cannot resynchronise a stream it will not read).
#ifndef COFFER_NET_FRAME_H_
#define COFFER_NET_FRAME_H_

#include <cstddef>
#include <cstdint>

namespace coffer::net {

inline constexpr size_t kFrameHeaderSize = 4;
// Default per-server / per-client limit on one payload.
inline constexpr size_t kDefaultMaxFrameSize = size_t{1} << 20;  // 1 MiB
// Largest max frame size an option may ask for.
inline constexpr size_t kMaxFrameSizeLimit = size_t{1} << 30;  // 1 GiB

inline void EncodeFrameHeader(uint32_t payload_size,
                              uint8_t out[kFrameHeaderSize]) {
  out[0] = static_cast<uint8_t>(payload_size >> 24);
  out[1] = static_cast<uint8_t>(payload_size >> 16);
  out[2] = static_cast<uint8_t>(payload_size >> 8);
  out[3] = static_cast<uint8_t>(payload_size);
}

inline uint32_t DecodeFrameHeader(const uint8_t in[kFrameHeaderSize]) {
  return uint32_t{in[0]} << 24 | uint32_t{in[1]} << 16 | uint32_t{in[2]} << 8 |
         uint32_t{in[3]};
}

}  // namespace coffer::net

#endif  // COFFER_NET_FRAME_H_
