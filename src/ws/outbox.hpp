// The outgoing frames of one WebSocket that the kernel has not taken yet:
// the queue (frames waiting) and the write in flight (frames the kernel took
// in part), with the counts the session's limits are checked against
// (MAX_QUEUED_BYTES, MAX_QUEUED_MESSAGES). Pure: the session makes the
// sends and tells the outbox what they took. Used on the session's thread.
#pragma once

#include <array>
#include <boost/asio/buffer.hpp>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "hub/connection.hpp"
#include "ws/frame.hpp"

namespace hf::ws {

class outbox {
 public:
  outbox() = default;
  ~outbox();
  outbox(const outbox&) = delete;
  outbox& operator=(const outbox&) = delete;
  struct frame {
    hub::shared_text text;
    std::array<char, 10> header{};
    std::uint8_t header_len = 0;  // 0: `text` is raw bytes (101 answer, control frames)
  };
  // A data frame: its header encoded in front of the shared text (which is
  // never copied per socket).
  static frame data(opcode op, hub::shared_text text, bool compressed);
  // Bytes sent as they are (the 101, a refusal, ping, pong, close).
  static frame raw(hub::shared_text bytes);
  // Payload bytes of the data frames queued or in flight (not yet wholly
  // taken by the kernel).
  std::size_t bytes() const noexcept { return bytes_; }
  // Frames queued (not in flight).
  std::size_t frames() const noexcept { return queue_.size(); }
  bool queued() const noexcept { return !queue_.empty(); }
  bool in_flight() const noexcept { return flight_ != nullptr; }

  // Queues `f` behind what is there. `pong`: it answers a ping, and a later
  // pong may replace it while it is queued (replace_pong).
  void push(frame f, bool pong = false);
  // RFC 6455 5.5.3: a pong may answer only the most recent of several
  // pings. True when a queued, unsent pong was replaced by `pong` (a ping
  // flood then costs one frame of memory, not one per ping).
  bool replace_pong(hub::shared_text& pong) noexcept;
  // Forgets every queued data frame. Raw bytes stay, in order: a 101 still
  // corked must precede a close that a frame sent with the upgrade caused,
  // and a queued ping or pong may precede a close frame. The flight is left
  // alone (the kernel has part of it).
  void drop_data();

  // The queue as buffers for one gathered send (a scratch vector of the
  // thread, valid until the next call on this thread), and their size.
  std::vector<boost::asio::const_buffer>& gather(std::size_t& total) const;
  // The whole queue was sent: its frames are forgotten, and its memory goes
  // to the thread's spare queues, which the next outbox written to on this
  // thread takes (so a frame costs no allocation, and an idle socket holds
  // no queue memory).
  void sent_all();

  // The spare queues of a thread, each of at most spare_frames frames: at
  // most spare_floor of them, or as many as the thread's outboxes held at
  // once since the last sweep (a turn that writes to 10,000 sockets needs
  // 10,000 queues). So a delivery allocates nothing; the spares cost at most
  // 4 frames of 32 bytes per socket written to in one turn, and only until
  // the first sweep after such turns stop.
  static constexpr std::size_t spare_floor = 256;
  static constexpr std::size_t spare_frames = 4;
  // Once per heartbeat sweep, on the thread: the peak is measured again
  // and the spares above it are freed.
  static void sweep_spares() noexcept;
  static std::size_t spares() noexcept;

  // The queue becomes the write in flight; frames pushed later queue behind
  // it. `rest`: the gathered buffers, of which the kernel took `taken`
  // bytes. `failed`: the send failed (nothing more is sent; end_flight
  // follows).
  void start_flight(std::span<const boost::asio::const_buffer> rest, std::size_t taken,
                    bool failed);
  // What the kernel has not taken yet of the flight.
  std::span<const boost::asio::const_buffer> unsent() const noexcept;
  void advance(std::size_t taken) noexcept;
  bool flight_done() const noexcept;
  bool flight_failed() const noexcept { return flight_ && flight_->failed; }
  // A send of the flight failed: nothing more of it is sent (end_flight
  // follows).
  void fail_flight() noexcept {
    if (flight_) flight_->failed = true;
  }
  // The flight is over (sent, or failed): its frames are forgotten.
  void end_flight();

 private:
  struct flight {
    std::vector<frame> frames;
    std::vector<boost::asio::const_buffer> buffers;
    std::size_t next = 0;   // the first buffer not wholly sent
    std::size_t whole = 0;  // the frames wholly sent (the next one is frames[whole])
    std::uint8_t part = 0;  // of its buffers (header, text), how many are sent
    bool failed = false;
  };
  // The buffer `f.next` was wholly sent: a data frame whose last buffer it
  // was no longer counts in bytes().
  void finished_buffer(flight& f) noexcept;
  // The queue's memory goes to the thread's spares (or is freed).
  void give_back();

  std::vector<frame> queue_;
  std::unique_ptr<flight> flight_;
  std::size_t bytes_ = 0;
  static constexpr std::uint32_t no_pong = UINT32_MAX;
  std::uint32_t pong_at_ = no_pong;  // index in queue_ of an unsent pong
};

}  // namespace hf::ws
