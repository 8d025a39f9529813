#include "ws/outbox.hpp"

#include <algorithm>

namespace hf::ws {
namespace asio = boost::asio;

outbox::frame outbox::data(opcode op, hub::shared_text text, bool compressed) {
  frame f;
  f.header_len =
      static_cast<std::uint8_t>(encode_header(f.header.data(), op, text->size(), compressed));
  f.text = std::move(text);
  return f;
}

outbox::frame outbox::raw(hub::shared_text bytes) {
  frame f;
  f.text = std::move(bytes);
  return f;
}

namespace {
// The thread's spare queues, and how many of its outboxes hold queue memory
// now (`live`) and at most since the last sweep (`peak`): the spares kept are
// bounded by max(spare_floor, peak), so a worker that writes to N sockets per
// turn keeps N queues' memory while it does, and gives it back at the first
// sweep after it stops.
struct spare_pool {
  std::vector<std::vector<outbox::frame>> queues;
  std::size_t live = 0;
  std::size_t peak = 0;
};
thread_local spare_pool spare;
}  // namespace

void outbox::sweep_spares() noexcept {
  spare.peak = spare.live;
  std::size_t keep = std::max(spare_floor, spare.peak);
  if (spare.queues.size() <= keep) return;
  spare.queues.resize(keep);
  if (spare.queues.capacity() > 2 * keep) spare.queues.shrink_to_fit();
}

std::size_t outbox::spares() noexcept { return spare.queues.size(); }

outbox::~outbox() {
  if (queue_.capacity() && spare.live) --spare.live;
}

void outbox::push(frame f, bool pong) {
  if (queue_.capacity() == 0) {
    if (!spare.queues.empty()) {
      queue_.swap(spare.queues.back());
      spare.queues.pop_back();
    } else {
      queue_.reserve(2);  // two publishes' frames in a turn, without growing
    }
    spare.peak = std::max(spare.peak, ++spare.live);
  }
  if (f.header_len) bytes_ += f.text->size();
  if (pong) pong_at_ = static_cast<std::uint32_t>(queue_.size());
  queue_.push_back(std::move(f));
}

bool outbox::replace_pong(hub::shared_text& pong) noexcept {
  if (pong_at_ >= queue_.size()) return false;
  queue_[pong_at_].text = std::move(pong);
  return true;
}

void outbox::drop_data() {
  std::erase_if(queue_, [this](const frame& f) {
    if (!f.header_len) return false;
    bytes_ -= f.text->size();
    return true;
  });
  pong_at_ = no_pong;
}

std::vector<asio::const_buffer>& outbox::gather(std::size_t& total) const {
  thread_local std::vector<asio::const_buffer> buffers;
  buffers.clear();
  total = 0;
  for (const frame& f : queue_) {
    if (f.header_len) buffers.emplace_back(f.header.data(), f.header_len);
    buffers.emplace_back(f.text->data(), f.text->size());
    total += f.header_len + f.text->size();
  }
  return buffers;
}

void outbox::sent_all() {
  for (const frame& f : queue_)
    if (f.header_len) bytes_ -= f.text->size();
  queue_.clear();
  pong_at_ = no_pong;
  give_back();
}

void outbox::give_back() {
  if (queue_.capacity() == 0) return;
  if (spare.live) --spare.live;
  if (queue_.capacity() <= spare_frames &&
      spare.queues.size() < std::max(spare_floor, spare.peak)) {
    queue_.clear();
    spare.queues.push_back(std::move(queue_));
  }
  std::vector<frame>().swap(queue_);  // (moved from, or too big to keep)
}

void outbox::start_flight(std::span<const asio::const_buffer> rest, std::size_t taken,
                          bool failed) {
  flight_ = std::make_unique<flight>();
  if (queue_.capacity() && spare.live) --spare.live;  // its memory goes with the flight
  flight_->frames.swap(queue_);
  flight_->buffers.assign(rest.begin(), rest.end());
  flight_->failed = failed;
  pong_at_ = no_pong;  // a pong in flight is on its way
  advance(taken);
}

std::span<const asio::const_buffer> outbox::unsent() const noexcept {
  if (!flight_) return {};
  return std::span<const asio::const_buffer>(flight_->buffers).subspan(flight_->next);
}

void outbox::advance(std::size_t taken) noexcept {
  if (!flight_) return;
  flight& f = *flight_;
  while (f.next < f.buffers.size() && taken >= f.buffers[f.next].size()) {
    taken -= f.buffers[f.next].size();
    finished_buffer(f);
    ++f.next;
  }
  if (f.next < f.buffers.size()) f.buffers[f.next] += taken;
}

bool outbox::flight_done() const noexcept {
  return !flight_ || flight_->next >= flight_->buffers.size();
}

void outbox::finished_buffer(flight& f) noexcept {
  const frame& fr = f.frames[f.whole];
  if (++f.part < (fr.header_len ? 2 : 1)) return;  // its text is still to go
  if (fr.header_len) bytes_ -= fr.text->size();
  f.part = 0;
  ++f.whole;
}

void outbox::end_flight() {
  if (!flight_) return;
  // The frames not wholly sent (a failed flight's) stop counting too.
  for (std::size_t i = flight_->whole; i < flight_->frames.size(); ++i)
    if (flight_->frames[i].header_len) bytes_ -= flight_->frames[i].text->size();
  flight_.reset();
}

}  // namespace hf::ws
