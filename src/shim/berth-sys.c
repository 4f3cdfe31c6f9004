/*
 * berth-sys.node: system calls berthd makes on a container's start and exit path that Node has no
 * binding for, so they need not be a program each (mount(8) and umount(8) cost a fork + exec, a few ms,
 * on every start and exit). Each runs on libuv's thread pool and returns a promise.
 *
 *   mount(source, target, fstype, flags, data): Promise<void>   mount(2)
 *   umount(target, flags): Promise<void>                        umount2(2)
 *   createSandbox(file, itf | null): Promise<void>              a container's network sandbox (below)
 *   nftGeneration(): number | undefined                         nftables' ruleset generation (below)
 *
 * createSandbox is what `unshare --net=FILE ip -batch` (lo up, the veth pair made from inside, the inner
 * end addressed and routed) and `ip -batch` (the host end onto its bridge: hairpin, alias, up) did, in
 * rtnetlink messages from the pool thread: the thread enters a new network namespace (unshare), pins it
 * with a bind mount of /proc/thread-self/ns/net onto FILE (which must exist), wires it, and goes back to
 * berthd's namespace (setns) before anything else runs on it. `itf`: { name, hostName, bridge, mac,
 * owner, addresses: ["ip/len" | "ip/len nodad"], gateways: ["ip"] }. On failure the caller removes the
 * pin and the host end, as it did after a failed program.
 *
 * nftGeneration is the kernel's counter of nftables ruleset changes in berthd's network namespace (any
 * change by anyone, iptables-nft included, makes a new one): while it is the same, no rule changed.
 * Synchronous (one netlink round trip); undefined where nftables cannot answer.
 *
 * A failure rejects with an Error whose `code` is the errno's name (EBUSY, EINVAL, ...) and whose message
 * names the call, its target and the reason. Plain C against Node-API (stable ABI).
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <unistd.h>
#include <linux/if_link.h>
#include <linux/if_addr.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/veth.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nf_tables.h>
#include <sys/time.h>
#include <node_api.h>

enum op { OP_MOUNT, OP_UMOUNT, OP_SANDBOX };

#define MAX_LIST 8

/* The first interface of a sandbox (sandbox.ts's Interface, flattened). */
struct itf {
  char *name, *host_name, *bridge, *mac, *owner;
  char *addresses[MAX_LIST];
  char *gateways[MAX_LIST];
};

struct call {
  enum op op;
  char *source, *target, *fstype, *data;
  unsigned long flags;
  struct itf *itf;
  int err;
  char what[256]; /* the step that failed (createSandbox) */
  napi_deferred deferred;
  napi_async_work work;
};

static void free_itf(struct itf *i) {
  if (!i) return;
  free(i->name);
  free(i->host_name);
  free(i->bridge);
  free(i->mac);
  free(i->owner);
  for (int k = 0; k < MAX_LIST; k++) {
    free(i->addresses[k]);
    free(i->gateways[k]);
  }
  free(i);
}

static void free_call(struct call *c) {
  free(c->source);
  free(c->target);
  free(c->fstype);
  free(c->data);
  free_itf(c->itf);
  free(c);
}

/* ---- rtnetlink: one request at a time, each acknowledged ---- */

struct req {
  union {
    struct nlmsghdr h;
    char raw[2048];
  };
};

static void req_init(struct req *r, int type, int flags, const void *body, size_t len) {
  memset(r, 0, sizeof *r);
  r->h.nlmsg_len = NLMSG_LENGTH(len);
  r->h.nlmsg_type = type;
  r->h.nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK | flags;
  memcpy(NLMSG_DATA(&r->h), body, len);
}

static struct rtattr *attr(struct req *r, int type, const void *data, size_t len) {
  struct rtattr *a = (struct rtattr *)(r->raw + NLMSG_ALIGN(r->h.nlmsg_len));
  a->rta_type = type;
  a->rta_len = RTA_LENGTH(len);
  if (len) memcpy(RTA_DATA(a), data, len);
  r->h.nlmsg_len = NLMSG_ALIGN(r->h.nlmsg_len) + RTA_ALIGN(a->rta_len);
  return a;
}

static struct rtattr *nest(struct req *r, int type) { return attr(r, type, NULL, 0); }

static void nest_end(struct req *r, struct rtattr *a) { a->rta_len = (unsigned short)(r->raw + r->h.nlmsg_len - (char *)a); }

/* Send and wait for the kernel's acknowledgement: 0 or an errno. */
static int talk(int fd, struct req *r) {
  static __thread unsigned seq;
  r->h.nlmsg_seq = ++seq;
  if (send(fd, &r->h, r->h.nlmsg_len, 0) < 0) return errno;
  char buf[8192];
  for (;;) {
    ssize_t n = recv(fd, buf, sizeof buf, 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      return errno;
    }
    for (struct nlmsghdr *h = (struct nlmsghdr *)buf; NLMSG_OK(h, (unsigned)n); h = NLMSG_NEXT(h, n)) {
      if (h->nlmsg_seq != r->h.nlmsg_seq || h->nlmsg_type != NLMSG_ERROR) continue;
      return -((struct nlmsgerr *)NLMSG_DATA(h))->error;
    }
  }
}

static int link_up(int fd, int index) {
  struct ifinfomsg ifi = {.ifi_family = AF_UNSPEC, .ifi_index = index, .ifi_flags = IFF_UP, .ifi_change = IFF_UP};
  struct req r;
  req_init(&r, RTM_NEWLINK, 0, &ifi, sizeof ifi);
  return talk(fd, &r);
}

static int parse_mac(const char *s, unsigned char mac[6]) {
  return sscanf(s, "%hhx:%hhx:%hhx:%hhx:%hhx:%hhx", &mac[0], &mac[1], &mac[2], &mac[3], &mac[4], &mac[5]) == 6 ? 0 : EINVAL;
}

/* "ip/len" or "ip/len nodad" into family, bytes and prefix length. */
static int parse_prefix(const char *s, int *family, unsigned char addr[16], int *len, int *nodad) {
  char ip[64];
  const char *slash = strchr(s, '/');
  if (!slash || (size_t)(slash - s) >= sizeof ip) return EINVAL;
  memcpy(ip, s, slash - s);
  ip[slash - s] = 0;
  *family = strchr(ip, ':') ? AF_INET6 : AF_INET;
  if (inet_pton(*family, ip, addr) != 1) return EINVAL;
  *len = atoi(slash + 1);
  *nodad = strstr(slash, "nodad") != NULL;
  return 0;
}

/* link add NAME address MAC type veth peer name HOST netns HOSTNS */
static int add_veth(int fd, const struct itf *i, int host_ns) {
  unsigned char mac[6];
  if (parse_mac(i->mac, mac)) return EINVAL;
  struct ifinfomsg ifi = {.ifi_family = AF_UNSPEC};
  struct req r;
  req_init(&r, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, &ifi, sizeof ifi);
  attr(&r, IFLA_IFNAME, i->name, strlen(i->name) + 1);
  attr(&r, IFLA_ADDRESS, mac, sizeof mac);
  struct rtattr *info = nest(&r, IFLA_LINKINFO);
  attr(&r, IFLA_INFO_KIND, "veth", 5);
  struct rtattr *data = nest(&r, IFLA_INFO_DATA);
  struct rtattr *peer = attr(&r, VETH_INFO_PEER, &ifi, sizeof ifi);
  attr(&r, IFLA_IFNAME, i->host_name, strlen(i->host_name) + 1);
  attr(&r, IFLA_NET_NS_FD, &host_ns, sizeof host_ns);
  nest_end(&r, peer);
  nest_end(&r, data);
  nest_end(&r, info);
  return talk(fd, &r);
}

static int add_address(int fd, int index, const char *prefix) {
  int family, len, nodad;
  unsigned char a[16];
  if (parse_prefix(prefix, &family, a, &len, &nodad)) return EINVAL;
  struct ifaddrmsg ifa = {.ifa_family = family, .ifa_prefixlen = len, .ifa_flags = nodad ? IFA_F_NODAD : 0, .ifa_scope = RT_SCOPE_UNIVERSE, .ifa_index = index};
  struct req r;
  req_init(&r, RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL, &ifa, sizeof ifa);
  size_t n = family == AF_INET ? 4 : 16;
  attr(&r, IFA_LOCAL, a, n);
  attr(&r, IFA_ADDRESS, a, n);
  return talk(fd, &r);
}

/* route add default via GATEWAY dev INDEX */
static int add_default_route(int fd, int index, const char *gateway) {
  unsigned char a[16];
  int family = strchr(gateway, ':') ? AF_INET6 : AF_INET;
  if (inet_pton(family, gateway, a) != 1) return EINVAL;
  struct rtmsg rt = {.rtm_family = family, .rtm_table = RT_TABLE_MAIN, .rtm_protocol = RTPROT_BOOT, .rtm_scope = RT_SCOPE_UNIVERSE, .rtm_type = RTN_UNICAST};
  struct req r;
  req_init(&r, RTM_NEWROUTE, NLM_F_CREATE | NLM_F_EXCL, &rt, sizeof rt);
  attr(&r, RTA_GATEWAY, a, family == AF_INET ? 4 : 16);
  attr(&r, RTA_OIF, &index, sizeof index);
  return talk(fd, &r);
}

/* link set HOST master BRIDGE; link set HOST type bridge_slave hairpin on alias OWNER up */
static int wire_host_end(int fd, const struct itf *i, char *what, size_t what_len) {
  int index = (int)if_nametoindex(i->host_name), bridge = (int)if_nametoindex(i->bridge);
  snprintf(what, what_len, "host end %s onto %s", i->host_name, i->bridge);
  if (!index || !bridge) return ENODEV;
  struct ifinfomsg ifi = {.ifi_family = AF_UNSPEC, .ifi_index = index};
  struct req r;
  req_init(&r, RTM_NEWLINK, 0, &ifi, sizeof ifi);
  attr(&r, IFLA_MASTER, &bridge, sizeof bridge);
  int err = talk(fd, &r);
  if (err) return err;
  /* Slave data is read against the current master: a message of its own, after the master is set. */
  ifi.ifi_flags = IFF_UP;
  ifi.ifi_change = IFF_UP;
  req_init(&r, RTM_NEWLINK, 0, &ifi, sizeof ifi);
  struct rtattr *info = nest(&r, IFLA_LINKINFO);
  attr(&r, IFLA_INFO_SLAVE_KIND, "bridge", 7);
  struct rtattr *data = nest(&r, IFLA_INFO_SLAVE_DATA);
  unsigned char on = 1;
  attr(&r, IFLA_BRPORT_MODE, &on, 1);
  nest_end(&r, data);
  nest_end(&r, info);
  if (i->owner && *i->owner) attr(&r, IFLA_IFALIAS, i->owner, strlen(i->owner));
  snprintf(what, what_len, "host end %s: hairpin, alias, up", i->host_name);
  return talk(fd, &r);
}

/* link del NAME (in this thread's namespace) */
static int del_link(int fd, const char *name) {
  struct ifinfomsg ifi = {.ifi_family = AF_UNSPEC};
  struct req r;
  req_init(&r, RTM_DELLINK, 0, &ifi, sizeof ifi);
  attr(&r, IFLA_IFNAME, name, strlen(name) + 1);
  return talk(fd, &r);
}

/* Inside the new namespace: lo up, then the veth pair, its address(es), up, default route(s).
 * *made: the pair exists (its host end is to be deleted if a later step fails). */
static int wire_inside(const struct itf *i, int host_ns, int *made, char *what, size_t what_len) {
  int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
  if (fd < 0) return errno;
  int err;
  snprintf(what, what_len, "lo up");
  if ((err = link_up(fd, (int)if_nametoindex("lo")))) goto out;
  if (!i) goto out;
  snprintf(what, what_len, "veth %s (peer %s)", i->name, i->host_name);
  if ((err = add_veth(fd, i, host_ns))) goto out;
  *made = 1;
  int index = (int)if_nametoindex(i->name);
  if (!index) {
    err = ENODEV;
    goto out;
  }
  for (int k = 0; k < MAX_LIST && i->addresses[k]; k++) {
    snprintf(what, what_len, "address %s on %s", i->addresses[k], i->name);
    if ((err = add_address(fd, index, i->addresses[k]))) goto out;
  }
  snprintf(what, what_len, "%s up", i->name);
  if ((err = link_up(fd, index))) goto out;
  for (int k = 0; k < MAX_LIST && i->gateways[k]; k++) {
    snprintf(what, what_len, "default route via %s", i->gateways[k]);
    if ((err = add_default_route(fd, index, i->gateways[k]))) goto out;
  }
out:
  close(fd);
  return err;
}

static int create_sandbox(struct call *c) {
  int host_ns = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
  if (host_ns < 0) {
    snprintf(c->what, sizeof c->what, "open berthd's network namespace");
    return errno;
  }
  int err = 0, made = 0;
  snprintf(c->what, sizeof c->what, "new network namespace");
  if (unshare(CLONE_NEWNET) < 0) {
    err = errno;
    close(host_ns);
    return err;
  }
  snprintf(c->what, sizeof c->what, "pin the namespace at %s", c->target);
  if (mount("/proc/thread-self/ns/net", c->target, "none", MS_BIND, NULL) < 0) err = errno;
  else err = wire_inside(c->itf, host_ns, &made, c->what, sizeof c->what);
  /* Back to berthd's namespace before this pool thread does anything else: without it, it cannot go on. */
  if (setns(host_ns, CLONE_NEWNET) < 0) abort();
  close(host_ns);
  if (!made) return err;
  int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
  if (fd < 0) return errno;
  if (!err) err = wire_host_end(fd, c->itf, c->what, sizeof c->what);
  /* Deleting the host end now takes its peer and addresses off the bridge at once (not when the
   * namespace is freed, in the kernel's background work). */
  if (err) del_link(fd, c->itf->host_name);
  close(fd);
  return err;
}

/* A JavaScript string argument as a malloc'd C string; NULL (and a thrown TypeError) if it is not one. */
static char *string_arg(napi_env env, napi_value v) {
  size_t len;
  if (napi_get_value_string_utf8(env, v, NULL, 0, &len) != napi_ok) return NULL;
  char *s = malloc(len + 1);
  if (s) napi_get_value_string_utf8(env, v, s, len + 1, &len);
  return s;
}

static void execute(napi_env env, void *data) {
  (void)env;
  struct call *c = data;
  if (c->op == OP_SANDBOX) {
    c->err = create_sandbox(c);
    return;
  }
  int r = c->op == OP_MOUNT ? mount(c->source, c->target, c->fstype, c->flags, c->data) : umount2(c->target, (int)c->flags);
  c->err = r == 0 ? 0 : errno;
}

static void complete(napi_env env, napi_status status, void *data) {
  struct call *c = data;
  if (status == napi_ok && c->err == 0) {
    napi_value undef;
    napi_get_undefined(env, &undef);
    napi_resolve_deferred(env, c->deferred, undef);
  } else {
    int err = status == napi_ok ? c->err : ECANCELED;
    char msg[4200];
    if (c->op == OP_SANDBOX) snprintf(msg, sizeof msg, "network sandbox %s: %s: %s", c->target, c->what, strerror(err));
    else snprintf(msg, sizeof msg, "%s %s: %s", c->op == OP_MOUNT ? "mount" : "umount", c->target, strerror(err));
    const char *name = strerrorname_np(err);
    napi_value m, code, error;
    napi_create_string_utf8(env, msg, NAPI_AUTO_LENGTH, &m);
    napi_create_string_utf8(env, name ? name : "EUNKNOWN", NAPI_AUTO_LENGTH, &code);
    napi_create_error(env, code, m, &error);
    napi_value errnoValue;
    napi_create_int32(env, err, &errnoValue);
    napi_set_named_property(env, error, "errno", errnoValue);
    napi_reject_deferred(env, c->deferred, error);
  }
  napi_delete_async_work(env, c->work);
  free_call(c);
}

static napi_value queue(napi_env env, struct call *c) {
  napi_value promise, name;
  napi_create_promise(env, &c->deferred, &promise);
  napi_create_string_utf8(env, "berth-sys", NAPI_AUTO_LENGTH, &name);
  napi_create_async_work(env, NULL, name, execute, complete, c, &c->work);
  napi_queue_async_work(env, c->work);
  return promise;
}

static napi_value do_mount(napi_env env, napi_callback_info info) {
  size_t argc = 5;
  napi_value argv[5];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  struct call *c = calloc(1, sizeof *c);
  double flags = 0;
  if (!c) return NULL;
  c->op = OP_MOUNT;
  if (argc < 5 || !(c->source = string_arg(env, argv[0])) || !(c->target = string_arg(env, argv[1])) ||
      !(c->fstype = string_arg(env, argv[2])) || napi_get_value_double(env, argv[3], &flags) != napi_ok ||
      !(c->data = string_arg(env, argv[4]))) {
    free_call(c);
    napi_throw_type_error(env, NULL, "mount(source, target, fstype, flags, data)");
    return NULL;
  }
  c->flags = (unsigned long)flags;
  return queue(env, c);
}

static napi_value do_umount(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  struct call *c = calloc(1, sizeof *c);
  int32_t flags = 0;
  if (!c) return NULL;
  c->op = OP_UMOUNT;
  if (argc < 2 || !(c->target = string_arg(env, argv[0])) || napi_get_value_int32(env, argv[1], &flags) != napi_ok) {
    free_call(c);
    napi_throw_type_error(env, NULL, "umount(target, flags)");
    return NULL;
  }
  c->flags = (unsigned long)flags;
  return queue(env, c);
}

static napi_value nft_generation(napi_env env, napi_callback_info info) {
  (void)info;
  napi_value result;
  napi_get_undefined(env, &result);
  int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_NETFILTER);
  if (fd < 0) return result;
  struct timeval tv = {.tv_sec = 1};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  struct nfgenmsg g = {.nfgen_family = AF_UNSPEC, .version = NFNETLINK_V0};
  struct req r;
  memset(&r, 0, sizeof r);
  r.h.nlmsg_len = NLMSG_LENGTH(sizeof g);
  r.h.nlmsg_type = (NFNL_SUBSYS_NFTABLES << 8) | NFT_MSG_GETGEN;
  r.h.nlmsg_flags = NLM_F_REQUEST;
  r.h.nlmsg_seq = 1;
  memcpy(NLMSG_DATA(&r.h), &g, sizeof g);
  char buf[4096];
  ssize_t n;
  if (send(fd, &r.h, r.h.nlmsg_len, 0) < 0 || (n = recv(fd, buf, sizeof buf, 0)) <= 0) goto out;
  for (struct nlmsghdr *h = (struct nlmsghdr *)buf; NLMSG_OK(h, (unsigned)n); h = NLMSG_NEXT(h, n)) {
    if (h->nlmsg_type != ((NFNL_SUBSYS_NFTABLES << 8) | NFT_MSG_NEWGEN)) continue;
    struct rtattr *a = (struct rtattr *)((char *)NLMSG_DATA(h) + NLMSG_ALIGN(sizeof(struct nfgenmsg)));
    int len = (int)h->nlmsg_len - NLMSG_LENGTH(NLMSG_ALIGN(sizeof(struct nfgenmsg)));
    for (; RTA_OK(a, len); a = RTA_NEXT(a, len)) {
      if ((a->rta_type & NLA_TYPE_MASK) != NFTA_GEN_ID || RTA_PAYLOAD(a) < 4) continue;
      uint32_t id;
      memcpy(&id, RTA_DATA(a), 4);
      napi_create_uint32(env, ntohl(id), &result);
      goto out;
    }
  }
out:
  close(fd);
  return result;
}

/* A string property (NULL if missing or not a string). */
static char *string_prop(napi_env env, napi_value o, const char *key) {
  napi_value v;
  if (napi_get_named_property(env, o, key, &v) != napi_ok) return NULL;
  napi_valuetype t;
  if (napi_typeof(env, v, &t) != napi_ok || t != napi_string) return NULL;
  return string_arg(env, v);
}

/* An array of strings into list (at most MAX_LIST); -1 if it is not one. */
static int string_list(napi_env env, napi_value o, const char *key, char **list) {
  napi_value v;
  uint32_t n = 0;
  bool is;
  if (napi_get_named_property(env, o, key, &v) != napi_ok || napi_is_array(env, v, &is) != napi_ok || !is) return -1;
  napi_get_array_length(env, v, &n);
  if (n > MAX_LIST) return -1;
  for (uint32_t k = 0; k < n; k++) {
    napi_value e;
    napi_get_element(env, v, k, &e);
    if (!(list[k] = string_arg(env, e))) return -1;
  }
  return 0;
}

static struct itf *itf_arg(napi_env env, napi_value o) {
  struct itf *i = calloc(1, sizeof *i);
  if (!i) return NULL;
  i->owner = string_prop(env, o, "owner");
  if (!(i->name = string_prop(env, o, "name")) || !(i->host_name = string_prop(env, o, "hostName")) || !(i->bridge = string_prop(env, o, "bridge")) ||
      !(i->mac = string_prop(env, o, "mac")) || string_list(env, o, "addresses", i->addresses) || string_list(env, o, "gateways", i->gateways)) {
    free_itf(i);
    return NULL;
  }
  return i;
}

static napi_value do_create_sandbox(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  struct call *c = calloc(1, sizeof *c);
  if (!c) return NULL;
  c->op = OP_SANDBOX;
  napi_valuetype t = napi_undefined;
  if (argc == 2) napi_typeof(env, argv[1], &t);
  if (argc < 2 || !(c->target = string_arg(env, argv[0])) || (t == napi_object && !(c->itf = itf_arg(env, argv[1]))) || (t != napi_object && t != napi_null)) {
    free_call(c);
    napi_throw_type_error(env, NULL, "createSandbox(file, { name, hostName, bridge, mac, owner, addresses, gateways } | null)");
    return NULL;
  }
  return queue(env, c);
}

NAPI_MODULE_INIT() {
  static const struct {
    const char *name;
    napi_callback cb;
  } fns[] = {{"mount", do_mount}, {"umount", do_umount}, {"createSandbox", do_create_sandbox}, {"nftGeneration", nft_generation}};
  for (size_t i = 0; i < sizeof fns / sizeof fns[0]; i++) {
    napi_value fn;
    napi_create_function(env, fns[i].name, NAPI_AUTO_LENGTH, fns[i].cb, NULL, &fn);
    napi_set_named_property(env, exports, fns[i].name, fn);
  }
  return exports;
}
