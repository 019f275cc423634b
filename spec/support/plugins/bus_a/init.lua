vcli.events.subscribe("kube.pod.*", function(ev, topic)
  if ev.fail then error("handler failed on purpose") end
  vcli.events.publish("seen", { topic = topic, name = ev.name })
end)
vcli.events.respond("echo", function(p) return { echoed = p.x } end)
vcli.events.respond("slow", function() vcli.sleep(1000) return 1 end)
return {}
