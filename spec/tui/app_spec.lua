-- The interface off-screen (vcli.tui.app on an 80×24 grid) with a third
-- party's panels running in their plugin's own sandbox
-- (spec/support/plugins/panels): what a person sees after each key, a panel
-- that fails and one that loops forever kept in their own area, the help
-- built from the keys, read-only refusals, the command bar, breadcrumbs.
local pm = require("vcli.plugin")
local host = require("vcli.tui.host")
local app_mod = require("vcli.tui.app")
local async = require("vcli.async")
local loop = require("vcli.loop")

local root = os.getenv("PWD")

describe("the interface with a plugin's panels", function()
  local a
  before_all(function()
    pm.discover({ { dir = root .. "/spec/support/plugins", kind = "VCLI_PLUGIN_PATH" } })
  end)
  after_all(function() pm.stop("panels") end)
  before_each(function()
    a = app_mod.new({ width = 80, height = 24, color = false, bindings = {} })
    a.live = true
    host.set_app(a)
  end)
  after_each(function()
    if a and not a.done then a:quit() end
    host.set_app(nil)
  end)

  -- wait until the keys are handled and deferred pushes are done, then draw
  local function settle()
    spec.eventually(function()
      loop.step(5)
      return #a.queue == 0 and (not a.pending or a.overlay ~= nil)
    end, 10000, "the keys to be handled")
    loop.step(0)
    a:render()
    return a:text()
  end
  local function press(...)
    for _, k in ipairs({ ... }) do a:enqueue(k) end
    return settle()
  end
  local function open(name, args)
    local px, err = a:open(name, args)
    assert.truthy(px, err)
    return settle()
  end

  it("shows a panel's table, moves, sorts and picks with the panel's own keys", function()
    local s = open("fruit")
    assert.matches("NAME%S*%s+COLOUR%s+COUNT", s)
    assert.matches("apple%s+red%s+3", s)
    assert.matches(" fruit%(4%)", s)                 -- the breadcrumb is the panel's title
    s = press("j", "Enter")
    assert.matches("picked banana", s)
    s = press("G", "Enter")
    assert.matches("picked kiwi", s)
  end)

  it("filters as the filter is typed, and Esc clears it", function()
    open("fruit")
    local s = press("/", "r", "e", "d")
    assert.matches("apple", s)
    assert.matches("cherry", s)
    assert.not_matches("banana", s)
    s = press("Enter")
    assert.matches("fruit%(2/4%)", s)
    s = press("Esc")
    assert.matches("banana", s)
  end)

  it("takes a lone ESC byte as Esc once ui.escapeDelay is over, and a sequence split across reads as one key", function()
    open("fruit")
    a.dec = require("vcli.term").decoder()
    a:input_bytes("/red\r")
    assert.matches("fruit%(2/4%)", settle())
    a:input_bytes("\27")                      -- the Esc key: nothing follows
    spec.eventually(function() loop.step(5) return a.esc_timer == nil end, 5000, "the ESC to be given up on")
    local s = settle()
    assert.matches("banana", s)
    assert.not_matches("fruit%(2/4%)", s)
    a:input_bytes("\27")                      -- Down, its bytes in two reads
    a:input_bytes("[B\r")
    assert.matches("picked banana", settle())
  end)

  it(":stats names the heap of the plugin whose panel is open beside the host's", function()
    open("fruit")
    local s = press(":", "s", "t", "a", "t", "s", "Enter")
    assert.matches("frames %d+ · p50 [%d%.]+ ms, p99 [%d%.]+ ms, CPU p99 [%d%.]+ · heap MiB host [%d%.]+, panels [%d%.]+\n", s)
  end)

  it("a panel that makes garbage on every frame keeps its plugin's heap near what it holds", function()
    -- frames come one after the other (the panel asks for the next at once),
    -- so the collector never gets an idle moment: it is driven between frames
    local vm = require("vcli.vm")
    open("churn", { "300000" })
    local function full()
      for _ = 1, 1000 do if pm.gc_step("panels", 1048576) then break end end
      return pm.stats("panels").memory
    end
    local held = full()
    local peak, n0, t0 = 0, a.frames.n, vm.now()
    while vm.now() - t0 < 4000 do
      loop.step(5)
      peak = math.max(peak, pm.stats("panels").memory)
    end
    local frames = a.frames.n - n0
    assert.truthy(frames > 40, ("frames kept coming (%d in 4 s)"):format(frames))
    held = math.max(held, full())
    assert.truthy(peak <= held * 1.25, ("the heap peaked at %.1f MiB for %.1f MiB held"):format(peak / 1048576, held / 1048576))
  end)

  it("an action may ask for a line of its own; the line goes back to the panel", function()
    open("fruit")
    local s = press("N")
    assert.matches("\nnote:%s*$", s)
    s = press("r", "i", "p", "e", "Enter")
    assert.matches("picked a note: ripe", s)
  end)

  it("keeps the current view's crumb whole when the trail is wider than the screen", function()
    open("fruit")
    for _ = 1, 8 do open("fruit") end
    local crumbs = a:text():match("^[^\n]*\n[^\n]*\n([^\n]*)")
    assert.matches("^… ", crumbs)
    assert.matches("fruit%(4%)%s*$", crumbs)
  end)

  it("a key's view goes on the trail; a : command's view starts a new one (k9s)", function()
    open("fruit")
    press("a")
    local s = press("a")
    assert.equal(3, #a.stack)
    assert.matches(" fruit%(4%)   fruit%(4%)   fruit%(4%)\n", s)
    local first = a.stack[1]
    s = press(":", "b", "a", "s", "k", "e", "t", "Enter")
    assert.equal(1, #a.stack)
    assert.truthy(first.closed, "the views before it are closed")
    assert.not_matches("fruit%(4%)   fruit", s)
    s = press("Esc")
    assert.matches("this is the first view", s)
  end)

  it("a : command the current view does not know goes to the views under it", function()
    open("fruit")
    open("boom")                       -- a view with no commands of its own
    local s = press(":", "b", "a", "s", "k", "e", "t", "Enter")
    assert.equal(1, #a.stack)
    assert.equal("fruit", a.stack[1].name)
    assert.matches("apple%s+red", s)
    s = press(":", "n", "o", "p", "e", "Enter")
    assert.matches("unknown command 'nope'", s)
  end)

  it("? lists the moving keys and the plain keys the panel's view names", function()
    open("fruit")
    local s = press("?")
    assert.matches("Navigation", s)
    assert.matches("Space%s+Mark a fruit", s)
    assert.not_matches("Mark a range", s)
  end)

  it("asks a number in a dialog and gives it to the panel", function()
    open("fruit")
    local s = press("n")
    assert.matches("How many apple%?", s)
    s = press("Backspace", "5", "Enter")
    assert.matches("5 apple", s)
  end)

  it("builds ? from the keymap, with a rebinding shown under its new key", function()
    a.bindings = { ["ctrl-p"] = "pick" }
    open("fruit")
    local s = press("?")
    assert.matches("Pick this fruit", s)
    assert.matches("C%-p", s)
    assert.matches("Help", s)
    s = press("Esc", "C-p")
    assert.matches("picked apple", s)
  end)

  it("refuses and hides a mutating key in read-only mode", function()
    a.readonly = true
    open("fruit")
    local s = press("C-d")
    assert.matches("eat: refused: read%-only mode", s)
    assert.matches("apple", s)
    s = press("?")
    assert.not_matches("Eat it", s)
  end)

  it("keeps going around a panel that fails and one that loops forever", function()
    open("fruit")
    local s = press(":", "b", "o", "o", "m", "Enter")
    assert.matches("panel boom: .*the boom panel cannot draw", s)
    s = press("Esc")
    assert.matches("apple", s)
    s = press(":", "s", "p", "i", "n", "Enter")
    assert.matches("panel spin: .*2000 ms CPU", s)
    s = press("[")
    assert.matches("apple", s)
    s = press("]")
    assert.matches("panel spin", s)
  end)

  it("says so for an unknown command and a bad regex, and stays up", function()
    open("fruit")
    local s = press(":", "n", "o", "p", "e", "Enter")
    assert.matches("unknown command 'nope'", s)
    s = press("/", "(")
    assert.matches("bad regex \"%(\"", s)
    s = press("Esc")
    assert.matches("apple", s)
  end)

  it("draws at 40 columns and says when the terminal is too small", function()
    open("fruit")
    a:resize(40, 24)
    local s = settle()
    assert.matches("apple", s)
    a:resize(30, 6)
    s = settle()
    assert.matches("too small", s)
    a:resize(80, 24)
    s = settle()
    assert.matches("COLOUR", s)
  end)

  it("shows a 50 000-row panel and moves through it", function()
    local s = open("fruit", { extra = 50000 })
    assert.matches("fruit%(50004%)", s)
    s = press("G")
    assert.matches("kiwi", s)
    s = press("/", "f", "r", "u", "i", "t", "-", "0", "0", "0", "4", "2")
    assert.matches("fruit%-00042", s)
    assert.matches("fruit%(1/50004%)", s)
  end)
end)

local _ = async
