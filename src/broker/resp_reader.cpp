#include "broker/resp_reader.hpp"

#include <hiredis/hiredis.h>

#include <cstdlib>
#include <cstring>

namespace hf::broker {
namespace {

// Each object is placed in its parent array, as hiredis's own functions do.
void* place(const redisReadTask* task, redisReply* r) {
  if (task->parent) {
    auto* parent = static_cast<redisReply*>(task->parent->obj);
    parent->element[task->idx] = r;
  }
  return r;
}

redisReply* make(int type) {
  auto* r = static_cast<redisReply*>(std::calloc(1, sizeof(redisReply)));
  if (r) r->type = type;
  return r;
}

void* create_string(const redisReadTask* task, char* str, std::size_t len) {
  redisReply* r = make(task->type);
  if (!r) return nullptr;
  r->str = static_cast<char*>(std::malloc(len + 1));
  if (!r->str) {
    std::free(r);
    return nullptr;
  }
  std::memcpy(r->str, str, len);
  r->str[len] = '\0';
  r->len = len;
  return place(task, r);
}

void* create_array(const redisReadTask* task, int elements) {
  if (elements < 0 || static_cast<std::size_t>(elements) > max_array_elements) return nullptr;
  redisReply* r = make(REDIS_REPLY_ARRAY);
  if (!r) return nullptr;
  if (elements > 0) {
    r->element = static_cast<redisReply**>(
        std::calloc(static_cast<std::size_t>(elements), sizeof(redisReply*)));
    if (!r->element) {
      std::free(r);
      return nullptr;
    }
  }
  r->elements = static_cast<std::size_t>(elements);
  return place(task, r);
}

void* create_integer(const redisReadTask* task, long long value) {
  redisReply* r = make(REDIS_REPLY_INTEGER);
  if (!r) return nullptr;
  r->integer = value;
  return place(task, r);
}

void* create_nil(const redisReadTask* task) {
  redisReply* r = make(REDIS_REPLY_NIL);
  return r ? place(task, r) : nullptr;
}

void free_object(void* r) { freeReplyObject(r); }

redisReplyObjectFunctions bounded = {create_string, create_array, create_integer, create_nil,
                                     free_object};

}  // namespace

redisReader* make_bounded_reader() { return redisReaderCreateWithFunctions(&bounded); }

}  // namespace hf::broker
