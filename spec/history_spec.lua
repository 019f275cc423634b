-- Persistent history: deduplicated, capped, secrets never written.
require("vcli")
local history = require("vcli.shell.history")

describe("history", function()
  local dir
  before_each(function() dir = spec.tmpdir() end)
  after_each(function() os.execute("rm -rf " .. dir) end)

  it("survives a restart, newest last, without duplicates", function()
    local h = history.open(dir .. "/vcli/history")
    h:add("one"); h:add("two"); h:add("one")
    local again = history.open(dir .. "/vcli/history")
    assert.equal(2, again:size())
    assert.equal("two", again:get(1))
    assert.equal("one", again:get(2))
  end)
  it("keeps multi-line entries whole", function()
    local h = history.open(dir .. "/h")
    h:add("echo 'a\nb' \\ c")
    assert.equal("echo 'a\nb' \\ c", history.open(dir .. "/h"):get(1))
  end)
  it("is capped, and the file is compacted", function()
    local h = history.open(dir .. "/h", 50)
    for i = 1, 200 do h:add("cmd " .. i) end
    local again = history.open(dir .. "/h", 50)
    assert.equal(50, again:size())
    assert.equal("cmd 200", again:get(50))
    local lines = 0
    for _ in io.lines(dir .. "/h") do lines = lines + 1 end
    assert.truthy(lines <= 150, "file has " .. lines .. " lines")
  end)
  it("never stores a line carrying a secret", function()
    local h = history.open(dir .. "/h")
    for _, line in ipairs({
      "k8s get pods --token abc123", "k8s get pods --token=abc123", "config set prometheus.password=hunter2",
      "!curl -H 'Authorization: Bearer xyz' http://x", "k8s create secret generic s --from-literal=k=v",
      " leading space is private",
    }) do
      assert.falsy(h:add(line), line)
    end
    assert.truthy(h:add("k8s get pods"))
    assert.equal(1, history.open(dir .. "/h"):size())
    assert.not_matches("abc123", spec.read(dir .. "/h"))
  end)
  it("searches backwards by substring", function()
    local h = history.open(nil)
    h:add("k8s get pods"); h:add("help"); h:add("k8s get nodes")
    assert.equal(3, h:search_back("get", 4))
    assert.equal(1, h:search_back("get", 3))
    assert.equal(nil, h:search_back("nothing", 4))
  end)
end)
