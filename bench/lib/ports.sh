# Ports for the servers the benchmark scripts start (sourced, not run).
#   random_listen_port   prints a random port below the kernel's range of
#                        ephemeral ports (or above it, if there is no room
#                        below), from 20000 up.
# A port inside that range can be taken at any moment by an outgoing
# connection of another process (a test running beside), which then makes
# the server's bind fail, even though nothing listened there a moment before.
random_listen_port() {
  local low=32768 high=60999
  read -r low high </proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || true
  if ((low - 20000 >= 1000)); then
    echo $((20000 + RANDOM % (low - 20000)))
  else
    echo $((high + 1 + RANDOM % (65535 - high)))
  fi
}
