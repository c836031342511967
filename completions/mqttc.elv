
use builtin;
use str;

set edit:completion:arg-completer[mqttc] = {|@words|
    fn spaces {|n|
        builtin:repeat $n ' ' | str:join ''
    }
    fn cand {|text desc|
        edit:complex-candidate $text &display=$text' '(spaces (- 14 (wcswidth $text)))$desc
    }
    var command = 'mqttc'
    for word $words[1..-1] {
        if (str:has-prefix $word '-') {
            break
        }
        set command = $command';'$word
    }
    var completions = [
        &'mqttc'= {
            cand -p 'Send a message to TOPIC; the payload is all of standard input'
            cand --publish 'Send a message to TOPIC; the payload is all of standard input'
            cand -s 'Print the messages of FILTER (repeatable) until a signal or --count ends the run'
            cand --subscribe 'Print the messages of FILTER (repeatable) until a signal or --count ends the run'
            cand -m 'Payload of the message to publish, instead of standard input'
            cand --message 'Payload of the message to publish, instead of standard input'
            cand -f 'Publish the content of FILE, instead of standard input'
            cand --file 'Publish the content of FILE, instead of standard input'
            cand --input 'Standard input format: raw, or json (one message record per line)'
            cand -q 'Quality of service for the publish and the subscriptions'
            cand --qos 'Quality of service for the publish and the subscriptions'
            cand -C 'Exit 0 after N messages have been printed'
            cand --count 'Exit 0 after N messages have been printed'
            cand -W 'Exit 1 when no message arrives for DURATION'
            cand --wait 'Exit 1 when no message arrives for DURATION'
            cand --probe-count 'Repeat the probe N times and report min/median/max round trips (implies --probe)'
            cand --probe-topic 'Topic of the probe [default: mqttc/probe/CLIENT-ID]'
            cand -o 'Output format: text or json (one JSON object per line)'
            cand --output 'Output format: text or json (one JSON object per line)'
            cand --prefix 'Print STR before each inbound message'
            cand --suffix 'Print STR after each inbound message [default: a line break]'
            cand -i 'Client identifier [default: generated, unique per run]'
            cand --client 'Client identifier [default: generated, unique per run]'
            cand -u 'User name for authentication'
            cand --user 'User name for authentication'
            cand --pass 'Read the password from FILE (less one trailing line break)'
            cand --net 'Network: tcp, tcp4, tcp6 or unix (the address is then a socket path)'
            cand --timeout 'Bound on connect, TLS and each awaited acknowledgement (e.g. 500ms, 4s, 2m)'
            cand --keepalive 'Keep-alive interval in seconds (0 disables; at least 5 with MQTT 5)'
            cand --reconnect-max 'Longest pause between reconnect attempts'
            cand --ca 'Also trust the CA certificates in FILE (PEM)'
            cand --cert 'Client certificate chain, PEM (needs --key)'
            cand --key 'Private key of the client certificate, PEM (needs --cert)'
            cand --server 'Verify the broker''s certificate against NAME instead of the address host'
            cand --will-topic 'Have the broker publish a will to TOPIC when the connection ends without DISCONNECT'
            cand --will-message 'Payload of the will [default: empty]'
            cand --will-qos 'Quality of service of the will: 0, 1 or 2 [default: 0]'
            cand --mqtt-version 'Protocol version: 3.1.1 or 5'
            cand --property 'User property KEY=VALUE on the published message (repeatable)'
            cand --content-type 'Content type of the published message'
            cand --response-topic 'Response topic of the published message'
            cand --correlation-data 'Correlation data of the published message'
            cand --message-expiry 'Expiry interval of the published message, in seconds'
            cand --session-expiry 'Session expiry interval, in seconds'
            cand --retain-handling 'Subscription option: 0 send retained messages, 1 only for new subscriptions, 2 never'
            cand -l 'Publish every line of standard input as a message, as soon as it arrives'
            cand --lines 'Publish every line of standard input as a message, as soon as it arrives'
            cand --skip-empty 'With --lines, do not send empty lines'
            cand -r 'Ask the broker to retain the published message'
            cand --retain 'Ask the broker to retain the published message'
            cand --retained-only 'Print the retained messages present at subscribe time, then exit 0'
            cand --no-retained 'Do not print retained messages (those stored before the subscription)'
            cand --remove-retained 'Clear every retained message received, by publishing an empty retained message'
            cand --probe 'Health check with a round trip: publish to a topic of its own and wait for it'
            cand --topic 'Print the topic of each inbound message, before the prefix'
            cand --quote 'Print topics and messages as quoted strings (Go''s %q)'
            cand --reconnect 'On connection loss, reconnect with backoff and send what was not confirmed again'
            cand --session 'Keep the session on the broker (clean session off); needs --client'
            cand --tls 'Secure the connection with TLS (implied by mqtts://)'
            cand --insecure 'Do not verify the broker''s certificate (warns on every run)'
            cand --will-retain 'Have the broker retain the will'
            cand --no-local 'Subscription option: do not receive own publishes'
            cand --retain-as-published 'Subscription option: keep the retain flag as published'
            cand --quiet 'Print nothing on standard error; the exit status alone reports'
            cand -v 'Print each packet sent and received on standard error (never credentials)'
            cand --verbose 'Print each packet sent and received on standard error (never credentials)'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
    ]
    $completions[$command]
}
