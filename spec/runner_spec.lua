-- The spec runner itself: every file cleans up what it started, whatever fails.
-- Runs spec/support/runner/cleanup_fixture.lua in its own vcli process (with a short
-- per-hook timeout) and checks which hooks ran and what the summary line says.
describe("spec runner", function()
  local dir, out, rc, marks
  before_all(function()
    dir = spec.tmpdir()
    out, rc = spec.sh(("cd '%s' && CI=true VCLI_SPEC_TIMEOUT=1500 VCLI_RUNNER_MARK='%s/marks' '%s' -l spec/runner.lua "
      .. "spec/support/runner/cleanup_fixture.lua"):format(spec.root, dir, spec.vcli))
    marks = {}
    for line in (spec.read(dir .. "/marks") or ""):gmatch("[^\n]+") do marks[line] = true end
  end)
  after_all(function() os.execute("rm -rf '" .. dir .. "'") end)

  it("runs after_all when before_all fails or times out, and not the tests", function()
    assert.truthy(marks["ba1 start"] and marks["aa1 ran"], out)
    assert.truthy(marks["ba2 start"] and marks["aa2 ran"], out)
    assert.falsy(marks["t1 ran"] or marks["t1b ran"] or marks["t2 ran"], out)
    assert.matches("FAIL  before_all fails %(before_all, 2 tests not run%)\n%s+[^\n]*cluster would not start", out)
    assert.matches("FAIL  before_all times out %(before_all, 1 tests not run%)\n%s+[^\n]*timed out after 1500 ms", out)
  end)

  it("runs a group's after_all when a nested group fails, and its own", function()
    assert.truthy(marks["aa3 inner ran"], out)
    assert.truthy(marks["aa3 outer ran"], out)
    assert.falsy(marks["t3 ran"], out)
  end)

  it("runs after_each after a failing test, a failing before_each and a timed-out test", function()
    assert.truthy(marks["ae4 ran 1"] and marks["ae4 ran 2"] and marks["ae4 ran 3"], out)
    assert.falsy(marks["t4b ran"], out)
    assert.truthy(marks["t4c ran"], out)
    assert.truthy(marks["ae5 ran"], out)
    assert.matches("FAIL  outer a test that times out hangs\n%s+[^\n]*timed out after 1500 ms", out)
  end)

  it("counts skips with their reason; after_all of a skipped group runs", function()
    assert.matches("SKIP  skips skips itself — needs a newer client\n", out)
    assert.matches("SKIP  skips a group skipped from before_all %(2 tests%) — no such tool here\n", out)
    assert.truthy(marks["aa6 ran"], out)
  end)

  it("ends with one summary line and a failing status", function()
    -- failed: 2 + 1 (before_all) + 1 (inner) + 2 (test, before_each) + 1 (timeout); passed: 1
    assert.matches("\n1 passed, 7 failed, 3 skipped\n$", out)
    assert.equal(1, rc)
  end)
end)
