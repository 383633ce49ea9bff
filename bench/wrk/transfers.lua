-- wrk script: uniform transfers between pre-created accounts, each with an
-- Idempotency-Key of its own, the same requests paybench's transfers-uniform
-- sends, to cross-check paybench's requests/s with another load generator.
--
--   paybench --target http://127.0.0.1:PORT --setup-only accounts.txt
--   wrk -t2 -c64 -d10s -s bench/wrk/transfers.lua http://127.0.0.1:PORT -- accounts.txt [KEY_PREFIX]
--
-- accounts.txt: the funded account ids, one a line (paybench --setup-only).
-- Keys are RANDOM-KEY_PREFIX-THREAD-N: 16 random hex digits first, so they
-- fall at random places in the ledger's key index as UUIDv4 keys (what most
-- clients send, and paybench's default) do; then KEY_PREFIX (the start time
-- unless given), the thread and a counter, so no key repeats within a run or
-- across runs started in different seconds.
-- Amounts are 1..100 minor units of USD, far below each account's deposit.
-- done() prints the answers by status class; only 201 counts as a transfer.

local amount_max_minor = 100
local threads = {}
local next_thread_id = 0

local function read_accounts(path)
  local accounts = {}
  local file = assert(io.open(path, "r"), "cannot open " .. tostring(path))
  for line in file:lines() do
    if #line > 0 then accounts[#accounts + 1] = line end
  end
  file:close()
  assert(#accounts >= 2, "need at least two accounts in " .. path)
  return accounts
end

-- In the main script: one id per thread, kept for done().
function setup(thread)
  next_thread_id = next_thread_id + 1
  thread:set("thread_id", next_thread_id)
  threads[#threads + 1] = thread
end

-- In each thread.
function init(args)
  accounts = read_accounts(args[1])
  key_prefix = args[2] or ("wrk" .. os.time())
  sequence = 0
  created = 0
  refused = 0
  math.randomseed(os.time() * 1000 + thread_id)
end

function request()
  local from = math.random(#accounts)
  local to = math.random(#accounts - 1)
  if to >= from then to = to + 1 end
  sequence = sequence + 1
  local body = string.format('{"from":"%s","to":"%s","amount":%d,"currency":"USD"}',
                             accounts[from], accounts[to], math.random(amount_max_minor))
  local headers = {
    ["Content-Type"] = "application/json",
    ["Idempotency-Key"] = string.format("%08x%08x-%s-%d-%d", math.random(0, 0xffffffff), math.random(0, 0xffffffff),
                                        key_prefix, thread_id, sequence),
  }
  return wrk.format("POST", "/v1/transfers", headers, body)
end

function response(status, headers, body)
  if status == 201 then created = created + 1 else refused = refused + 1 end
end

function done(summary, latency, requests)
  local total_created, total_refused = 0, 0
  for _, thread in ipairs(threads) do
    total_created = total_created + thread:get("created")
    total_refused = total_refused + thread:get("refused")
  end
  io.write(string.format("transfers created (201): %d, other answers: %d\n", total_created, total_refused))
end
