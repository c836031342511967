complete -c mqttc -s p -l publish -d 'Send a message to TOPIC; the payload is all of standard input' -r -f
complete -c mqttc -s s -l subscribe -d 'Print the messages of FILTER (repeatable) until a signal or --count ends the run' -r -f
complete -c mqttc -s m -l message -d 'Payload of the message to publish, instead of standard input' -r -f
complete -c mqttc -s f -l file -d 'Publish the content of FILE, instead of standard input' -r -F
complete -c mqttc -l input -d 'Standard input format: raw, or json (one message record per line)' -r -f -a "raw\t'the payload itself: all of it, or a line per message with --lines'
json\t'one JSON record per line: topic, payload or payload_base64, qos, retain, properties'"
complete -c mqttc -s q -l qos -d 'Quality of service for the publish and the subscriptions' -r -f -a "0\t'at most once'
1\t'at least once'
2\t'exactly once'"
complete -c mqttc -s C -l count -d 'Exit 0 after N messages have been printed' -r -f
complete -c mqttc -s W -l wait -d 'Exit 1 when no message arrives for DURATION' -r -f
complete -c mqttc -l probe-count -d 'Repeat the probe N times and report min/median/max round trips (implies --probe)' -r -f
complete -c mqttc -l probe-topic -d 'Topic of the probe [default: mqttc/probe/CLIENT-ID]' -r -f
complete -c mqttc -s o -l output -d 'Output format: text or json (one JSON object per line)' -r -f -a "text\t'PREFIX MESSAGE SUFFIX, as the Go mqttc prints (see --topic, --quote)'
json\t'one JSON object per line: topic, payload or payload_base64, qos, retain, received'"
complete -c mqttc -l prefix -d 'Print STR before each inbound message' -r -f
complete -c mqttc -l suffix -d 'Print STR after each inbound message [default: a line break]' -r -f
complete -c mqttc -s i -l client -d 'Client identifier [default: generated, unique per run]' -r -f
complete -c mqttc -s u -l user -d 'User name for authentication' -r -f
complete -c mqttc -l pass -d 'Read the password from FILE (less one trailing line break)' -r -F
complete -c mqttc -l net -d 'Network: tcp, tcp4, tcp6 or unix (the address is then a socket path)' -r -f -a "tcp\t'TCP over IPv4 or IPv6'
tcp4\t'TCP over IPv4 only'
tcp6\t'TCP over IPv6 only'
unix\t'a unix domain socket; the address is its path'"
complete -c mqttc -l timeout -d 'Bound on connect, TLS and each awaited acknowledgement (e.g. 500ms, 4s, 2m)' -r -f
complete -c mqttc -l keepalive -d 'Keep-alive interval in seconds (0 disables; at least 5 with MQTT 5)' -r -f
complete -c mqttc -l reconnect-max -d 'Longest pause between reconnect attempts' -r
complete -c mqttc -l ca -d 'Also trust the CA certificates in FILE (PEM)' -r -F
complete -c mqttc -l cert -d 'Client certificate chain, PEM (needs --key)' -r -F
complete -c mqttc -l key -d 'Private key of the client certificate, PEM (needs --cert)' -r -F
complete -c mqttc -l server -d 'Verify the broker\'s certificate against NAME instead of the address host' -r -f
complete -c mqttc -l will-topic -d 'Have the broker publish a will to TOPIC when the connection ends without DISCONNECT' -r -f
complete -c mqttc -l will-message -d 'Payload of the will [default: empty]' -r -f
complete -c mqttc -l will-qos -d 'Quality of service of the will: 0, 1 or 2 [default: 0]' -r -f -a "0\t'at most once'
1\t'at least once'
2\t'exactly once'"
complete -c mqttc -l mqtt-version -d 'Protocol version: 3.1.1 or 5' -r -f -a "3.1.1\t'MQTT 3.1.1'
5\t'MQTT 5'"
complete -c mqttc -l property -d 'User property KEY=VALUE on the published message (repeatable)' -r -f
complete -c mqttc -l content-type -d 'Content type of the published message' -r -f
complete -c mqttc -l response-topic -d 'Response topic of the published message' -r -f
complete -c mqttc -l correlation-data -d 'Correlation data of the published message' -r -f
complete -c mqttc -l message-expiry -d 'Expiry interval of the published message, in seconds' -r -f
complete -c mqttc -l session-expiry -d 'Session expiry interval, in seconds' -r -f
complete -c mqttc -l retain-handling -d 'Subscription option: 0 send retained messages, 1 only for new subscriptions, 2 never' -r -f
complete -c mqttc -s l -l lines -d 'Publish every line of standard input as a message, as soon as it arrives'
complete -c mqttc -l skip-empty -d 'With --lines, do not send empty lines'
complete -c mqttc -s r -l retain -d 'Ask the broker to retain the published message'
complete -c mqttc -l retained-only -d 'Print the retained messages present at subscribe time, then exit 0'
complete -c mqttc -l no-retained -d 'Do not print retained messages (those stored before the subscription)'
complete -c mqttc -l remove-retained -d 'Clear every retained message received, by publishing an empty retained message'
complete -c mqttc -l probe -d 'Health check with a round trip: publish to a topic of its own and wait for it'
complete -c mqttc -l topic -d 'Print the topic of each inbound message, before the prefix'
complete -c mqttc -l quote -d 'Print topics and messages as quoted strings (Go\'s %q)'
complete -c mqttc -l reconnect -d 'On connection loss, reconnect with backoff and send what was not confirmed again'
complete -c mqttc -l session -d 'Keep the session on the broker (clean session off); needs --client'
complete -c mqttc -l tls -d 'Secure the connection with TLS (implied by mqtts://)'
complete -c mqttc -l insecure -d 'Do not verify the broker\'s certificate (warns on every run)'
complete -c mqttc -l will-retain -d 'Have the broker retain the will'
complete -c mqttc -l no-local -d 'Subscription option: do not receive own publishes'
complete -c mqttc -l retain-as-published -d 'Subscription option: keep the retain flag as published'
complete -c mqttc -l quiet -d 'Print nothing on standard error; the exit status alone reports'
complete -c mqttc -s v -l verbose -d 'Print each packet sent and received on standard error (never credentials)'
complete -c mqttc -s h -l help -d 'Print help (see more with \'--help\')'
complete -c mqttc -s V -l version -d 'Print version'
