/* vcli core: the primitives the Lua runtime stands on.
 * Each core/<name>.c owns one primitive and opens one `vcli.<name>` module. */
#ifndef VCLI_H
#define VCLI_H

#include <stddef.h>
#include <stdint.h>
#include <lua.h>
#include <lauxlib.h>
#include <lualib.h>

#define VCLI_VERSION "0.1.0"

/* Module openers (each returns the module table). */
int luaopen_vcli_vm(lua_State *L);
int luaopen_vcli_loop(lua_State *L);
int luaopen_vcli_term(lua_State *L);
int luaopen_vcli_yaml(lua_State *L);
int luaopen_vcli_store(lua_State *L);
int luaopen_vcli_net(lua_State *L);
int luaopen_vcli_watch(lua_State *L);
int luaopen_vcli_proc(lua_State *L);
int luaopen_vcli_sandbox(lua_State *L);
int luaopen_vcli_wsock(lua_State *L);
int luaopen_vcli_jsonfmt(lua_State *L);
int luaopen_vcli_fs(lua_State *L);
int luaopen_vcli_tcp(lua_State *L);
int luaopen_vcli_codec(lua_State *L);
int luaopen_vcli_sort(lua_State *L);
int luaopen_vcli_regex(lua_State *L);
int luaopen_vcli_pattern(lua_State *L);
/* pattern.c: string.find/match/gmatch/gsub of L replaced by ones calling tick every few thousand steps */
void vcli_pattern_install(lua_State *L, void (*tick)(lua_State *L));
int luaopen_cjson(lua_State *L);
int luaopen_cjson_safe(lua_State *L);

/* vm.c: states with an accounting allocator, tracebacks, time budgets. */
typedef struct vm_acct {
    size_t used, peak, limit;   /* bytes; limit 0 = none */
    size_t refused;             /* allocations refused by the limit */
} vm_acct;
lua_State *vm_newstate(vm_acct *acct);
vm_acct *vm_acct_of(lua_State *L);
int vm_traceback(lua_State *L);                 /* message handler for lua_pcall */
int vm_pcall(lua_State *L, int nargs, int nres); /* pcall with traceback */
void vm_on_sigint(void);                        /* async-signal-safe */
void vm_set_main(lua_State *L);

/* The host state (core/host.c): the core modules preloaded, vcli's Lua on
 * package.path; *dir (if given) is where lua/ and plugins/ are. */
lua_State *vcli_host_new(const char **dir);
/* A plugin module's text (checked to be text) as chunkname: 0 with the
 * function pushed, from the bytecode cache when it holds exactly this text. */
int vcli_bc_load_text(lua_State *L, const char *text, size_t n, const char *chunkname);
void codec_sha256(const void *data, size_t n, unsigned char out[32]);   /* core/codec.c */
double vm_now_ms(void);                          /* monotonic milliseconds */

/* loop.c: one poll loop for the process. C users register callbacks; so does Lua. */
enum { LOOP_READ = 1, LOOP_WRITE = 2 };
typedef void (*loop_fd_fn)(int fd, int revents, void *ud);
typedef void (*loop_timer_fn)(void *ud);
typedef void (*loop_child_fn)(int pid, int status, void *ud);
void loop_fd(int fd, int events, loop_fd_fn fn, void *ud);   /* events 0 removes */
long loop_timer(double ms, loop_timer_fn fn, void *ud);        /* one-shot; returns id */
void loop_timer_cancel(long id);
void loop_child(int pid, loop_child_fn fn, void *ud);         /* exit notification */
lua_State *loop_L(void);                                       /* the main state */
void loop_report(lua_State *L, const char *where);              /* error at top of L */

/* term.c: term.width and term.split alone, for the plugin states (pure text measurement). */
int vcli_term_width(lua_State *L);
int vcli_term_split(lua_State *L);

/* Small helpers shared by the modules. */
void vcli_setfuncs(lua_State *L, const luaL_Reg *l);
void *vcli_checkudata(lua_State *L, int idx, const char *meta);
int vcli_ref(lua_State *L, int idx);                           /* registry ref of value */
void vcli_unref(lua_State *L, int *ref);
void vcli_newclass(lua_State *L, const char *meta, const luaL_Reg *methods);

#endif
