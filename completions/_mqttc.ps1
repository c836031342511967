
using namespace System.Management.Automation
using namespace System.Management.Automation.Language

Register-ArgumentCompleter -Native -CommandName 'mqttc' -ScriptBlock {
    param($wordToComplete, $commandAst, $cursorPosition)

    $commandElements = $commandAst.CommandElements
    $command = @(
        'mqttc'
        for ($i = 1; $i -lt $commandElements.Count; $i++) {
            $element = $commandElements[$i]
            if ($element -isnot [StringConstantExpressionAst] -or
                $element.StringConstantType -ne [StringConstantType]::BareWord -or
                $element.Value.StartsWith('-') -or
                $element.Value -eq $wordToComplete) {
                break
        }
        $element.Value
    }) -join ';'

    $completions = @(switch ($command) {
        'mqttc' {
            [CompletionResult]::new('-p', '-p', [CompletionResultType]::ParameterName, 'Send a message to TOPIC; the payload is all of standard input')
            [CompletionResult]::new('--publish', '--publish', [CompletionResultType]::ParameterName, 'Send a message to TOPIC; the payload is all of standard input')
            [CompletionResult]::new('-s', '-s', [CompletionResultType]::ParameterName, 'Print the messages of FILTER (repeatable) until a signal or --count ends the run')
            [CompletionResult]::new('--subscribe', '--subscribe', [CompletionResultType]::ParameterName, 'Print the messages of FILTER (repeatable) until a signal or --count ends the run')
            [CompletionResult]::new('-m', '-m', [CompletionResultType]::ParameterName, 'Payload of the message to publish, instead of standard input')
            [CompletionResult]::new('--message', '--message', [CompletionResultType]::ParameterName, 'Payload of the message to publish, instead of standard input')
            [CompletionResult]::new('-f', '-f', [CompletionResultType]::ParameterName, 'Publish the content of FILE, instead of standard input')
            [CompletionResult]::new('--file', '--file', [CompletionResultType]::ParameterName, 'Publish the content of FILE, instead of standard input')
            [CompletionResult]::new('--input', '--input', [CompletionResultType]::ParameterName, 'Standard input format: raw, or json (one message record per line)')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Quality of service for the publish and the subscriptions')
            [CompletionResult]::new('--qos', '--qos', [CompletionResultType]::ParameterName, 'Quality of service for the publish and the subscriptions')
            [CompletionResult]::new('-C', '-C ', [CompletionResultType]::ParameterName, 'Exit 0 after N messages have been printed')
            [CompletionResult]::new('--count', '--count', [CompletionResultType]::ParameterName, 'Exit 0 after N messages have been printed')
            [CompletionResult]::new('-W', '-W ', [CompletionResultType]::ParameterName, 'Exit 1 when no message arrives for DURATION')
            [CompletionResult]::new('--wait', '--wait', [CompletionResultType]::ParameterName, 'Exit 1 when no message arrives for DURATION')
            [CompletionResult]::new('--probe-count', '--probe-count', [CompletionResultType]::ParameterName, 'Repeat the probe N times and report min/median/max round trips (implies --probe)')
            [CompletionResult]::new('--probe-topic', '--probe-topic', [CompletionResultType]::ParameterName, 'Topic of the probe [default: mqttc/probe/CLIENT-ID]')
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'Output format: text or json (one JSON object per line)')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Output format: text or json (one JSON object per line)')
            [CompletionResult]::new('--prefix', '--prefix', [CompletionResultType]::ParameterName, 'Print STR before each inbound message')
            [CompletionResult]::new('--suffix', '--suffix', [CompletionResultType]::ParameterName, 'Print STR after each inbound message [default: a line break]')
            [CompletionResult]::new('-i', '-i', [CompletionResultType]::ParameterName, 'Client identifier [default: generated, unique per run]')
            [CompletionResult]::new('--client', '--client', [CompletionResultType]::ParameterName, 'Client identifier [default: generated, unique per run]')
            [CompletionResult]::new('-u', '-u', [CompletionResultType]::ParameterName, 'User name for authentication')
            [CompletionResult]::new('--user', '--user', [CompletionResultType]::ParameterName, 'User name for authentication')
            [CompletionResult]::new('--pass', '--pass', [CompletionResultType]::ParameterName, 'Read the password from FILE (less one trailing line break)')
            [CompletionResult]::new('--net', '--net', [CompletionResultType]::ParameterName, 'Network: tcp, tcp4, tcp6 or unix (the address is then a socket path)')
            [CompletionResult]::new('--timeout', '--timeout', [CompletionResultType]::ParameterName, 'Bound on connect, TLS and each awaited acknowledgement (e.g. 500ms, 4s, 2m)')
            [CompletionResult]::new('--keepalive', '--keepalive', [CompletionResultType]::ParameterName, 'Keep-alive interval in seconds (0 disables; at least 5 with MQTT 5)')
            [CompletionResult]::new('--reconnect-max', '--reconnect-max', [CompletionResultType]::ParameterName, 'Longest pause between reconnect attempts')
            [CompletionResult]::new('--ca', '--ca', [CompletionResultType]::ParameterName, 'Also trust the CA certificates in FILE (PEM)')
            [CompletionResult]::new('--cert', '--cert', [CompletionResultType]::ParameterName, 'Client certificate chain, PEM (needs --key)')
            [CompletionResult]::new('--key', '--key', [CompletionResultType]::ParameterName, 'Private key of the client certificate, PEM (needs --cert)')
            [CompletionResult]::new('--server', '--server', [CompletionResultType]::ParameterName, 'Verify the broker''s certificate against NAME instead of the address host')
            [CompletionResult]::new('--will-topic', '--will-topic', [CompletionResultType]::ParameterName, 'Have the broker publish a will to TOPIC when the connection ends without DISCONNECT')
            [CompletionResult]::new('--will-message', '--will-message', [CompletionResultType]::ParameterName, 'Payload of the will [default: empty]')
            [CompletionResult]::new('--will-qos', '--will-qos', [CompletionResultType]::ParameterName, 'Quality of service of the will: 0, 1 or 2 [default: 0]')
            [CompletionResult]::new('--mqtt-version', '--mqtt-version', [CompletionResultType]::ParameterName, 'Protocol version: 3.1.1 or 5')
            [CompletionResult]::new('--property', '--property', [CompletionResultType]::ParameterName, 'User property KEY=VALUE on the published message (repeatable)')
            [CompletionResult]::new('--content-type', '--content-type', [CompletionResultType]::ParameterName, 'Content type of the published message')
            [CompletionResult]::new('--response-topic', '--response-topic', [CompletionResultType]::ParameterName, 'Response topic of the published message')
            [CompletionResult]::new('--correlation-data', '--correlation-data', [CompletionResultType]::ParameterName, 'Correlation data of the published message')
            [CompletionResult]::new('--message-expiry', '--message-expiry', [CompletionResultType]::ParameterName, 'Expiry interval of the published message, in seconds')
            [CompletionResult]::new('--session-expiry', '--session-expiry', [CompletionResultType]::ParameterName, 'Session expiry interval, in seconds')
            [CompletionResult]::new('--retain-handling', '--retain-handling', [CompletionResultType]::ParameterName, 'Subscription option: 0 send retained messages, 1 only for new subscriptions, 2 never')
            [CompletionResult]::new('-l', '-l', [CompletionResultType]::ParameterName, 'Publish every line of standard input as a message, as soon as it arrives')
            [CompletionResult]::new('--lines', '--lines', [CompletionResultType]::ParameterName, 'Publish every line of standard input as a message, as soon as it arrives')
            [CompletionResult]::new('--skip-empty', '--skip-empty', [CompletionResultType]::ParameterName, 'With --lines, do not send empty lines')
            [CompletionResult]::new('-r', '-r', [CompletionResultType]::ParameterName, 'Ask the broker to retain the published message')
            [CompletionResult]::new('--retain', '--retain', [CompletionResultType]::ParameterName, 'Ask the broker to retain the published message')
            [CompletionResult]::new('--retained-only', '--retained-only', [CompletionResultType]::ParameterName, 'Print the retained messages present at subscribe time, then exit 0')
            [CompletionResult]::new('--no-retained', '--no-retained', [CompletionResultType]::ParameterName, 'Do not print retained messages (those stored before the subscription)')
            [CompletionResult]::new('--remove-retained', '--remove-retained', [CompletionResultType]::ParameterName, 'Clear every retained message received, by publishing an empty retained message')
            [CompletionResult]::new('--probe', '--probe', [CompletionResultType]::ParameterName, 'Health check with a round trip: publish to a topic of its own and wait for it')
            [CompletionResult]::new('--topic', '--topic', [CompletionResultType]::ParameterName, 'Print the topic of each inbound message, before the prefix')
            [CompletionResult]::new('--quote', '--quote', [CompletionResultType]::ParameterName, 'Print topics and messages as quoted strings (Go''s %q)')
            [CompletionResult]::new('--reconnect', '--reconnect', [CompletionResultType]::ParameterName, 'On connection loss, reconnect with backoff and send what was not confirmed again')
            [CompletionResult]::new('--session', '--session', [CompletionResultType]::ParameterName, 'Keep the session on the broker (clean session off); needs --client')
            [CompletionResult]::new('--tls', '--tls', [CompletionResultType]::ParameterName, 'Secure the connection with TLS (implied by mqtts://)')
            [CompletionResult]::new('--insecure', '--insecure', [CompletionResultType]::ParameterName, 'Do not verify the broker''s certificate (warns on every run)')
            [CompletionResult]::new('--will-retain', '--will-retain', [CompletionResultType]::ParameterName, 'Have the broker retain the will')
            [CompletionResult]::new('--no-local', '--no-local', [CompletionResultType]::ParameterName, 'Subscription option: do not receive own publishes')
            [CompletionResult]::new('--retain-as-published', '--retain-as-published', [CompletionResultType]::ParameterName, 'Subscription option: keep the retain flag as published')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print nothing on standard error; the exit status alone reports')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Print each packet sent and received on standard error (never credentials)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Print each packet sent and received on standard error (never credentials)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
    })

    $completions.Where{ $_.CompletionText -like "$wordToComplete*" } |
        Sort-Object -Property ListItemText
}
