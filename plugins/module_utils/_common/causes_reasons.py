# -*- coding: utf-8 -*-
# Copyright (c) tlsops.handshake contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""OpenSSL's reasons -> the causes of causes.py, on each side of nginx.

Every SSL-library reason OpenSSL 1.0.2, 1.1.1 and 3.x define (_openssl_errors, generated from
OpenSSL's own tables) is decided here once, by its SSL_R_ name, for both sides of nginx:
``upstream`` (nginx is the TLS client, ``proxy_pass https://``) and ``client`` (nginx is the
server: its clients, bots and scanners).  A reason either names causes (several when one log
line cannot tell them apart: the first is the usual one) or is unknown on purpose.  A unit test
fails when OpenSSL's tables hold a reason this file does not decide.

Also here: reading OpenSSL's error strings as nginx logs them (3.x ``error:0A000410:SSL
routines::...``, 1.1.1 ``error:14094410:SSL routines:ssl3_read_bytes:...``, 1.0.2
``error:14077410:SSL routines:SSL23_GET_SERVER_HELLO:...``, and the numbers alone when the
strings were not loaded: ``error:14094410:lib(20):func(148):reason(1040)``).
Standard library only: this runs on managed hosts.
"""

from __future__ import annotations

import re
from typing import Tuple

from ansible_collections.tlsops.handshake.plugins.module_utils._common import openssl_errors as tables

SIDES = ("upstream", "client")

# OpenSSL reason      upstream side (nginx the client)        client side (nginx the server)
# ``a|b|c``: candidates, the usual one first; ``-``: unknown on purpose; ``=``: as on the upstream side.
_HANDSHAKE_REASONS = """
# not TLS at all: plain HTTP, an SSH banner, garbage, a proxy's CONNECT (1.0.2 says "unknown protocol")
WRONG_VERSION_NUMBER                      not_tls|plain_http                         not_tls
UNKNOWN_PROTOCOL                          not_tls|plain_http|protocol_mismatch       protocol_mismatch|not_tls
HTTP_REQUEST                              not_tls                                    =
HTTPS_PROXY_REQUEST                       not_tls                                    =
PACKET_LENGTH_TOO_LONG                    not_tls                                    =
RECORD_LAYER_FAILURE                      not_tls|protocol_violation                 =
RECORD_TOO_LARGE                          not_tls|protocol_violation                 =
NON_SSLV2_INITIAL_PACKET                  not_tls                                    =
# versions
UNSUPPORTED_PROTOCOL                      protocol_mismatch                          =
VERSION_TOO_LOW                           protocol_mismatch                          =
VERSION_TOO_HIGH                          protocol_mismatch                          =
WRONG_SSL_VERSION                         protocol_mismatch                          =
TLSV1_ALERT_PROTOCOL_VERSION              protocol_mismatch                          =
INAPPROPRIATE_FALLBACK                    protocol_mismatch                          =
TLSV1_ALERT_INAPPROPRIATE_FALLBACK        protocol_mismatch                          =
ONLY_TLS_ALLOWED_IN_FIPS_MODE             local_config|protocol_mismatch             =
AT_LEAST_TLS_1_0_NEEDED_IN_FIPS_MODE      local_config|protocol_mismatch             =
ONLY_TLS_1_2_ALLOWED_IN_SUITEB_MODE       local_config|protocol_mismatch             =
AT_LEAST_TLS_1_2_NEEDED_IN_SUITEB_MODE    local_config|protocol_mismatch             =
# ciphers, groups, signature algorithms: alert 40 is all a peer says for any of them
SSLV3_ALERT_HANDSHAKE_FAILURE             cipher_mismatch|group_mismatch|signature_algorithm_mismatch|client_cert_required \
                                          cipher_mismatch|signature_algorithm_mismatch|group_mismatch|dh_too_small
TLSV1_ALERT_INSUFFICIENT_SECURITY         cipher_mismatch|group_mismatch|signature_algorithm_mismatch  dh_too_small|cipher_mismatch|cert_too_weak
NO_SHARED_CIPHER                          cipher_mismatch                            cipher_mismatch|group_mismatch
NO_CIPHERS_SPECIFIED                      local_config                               cipher_mismatch|protocol_violation
CIPHER_OR_HASH_UNAVAILABLE                local_config|cipher_mismatch               =
REQUIRED_CIPHER_MISSING                   protocol_violation                         =
BAD_CIPHER                                protocol_violation                         =
TRIED_TO_USE_UNSUPPORTED_CIPHER           protocol_violation|cipher_mismatch         =
WRONG_CIPHER_RETURNED                     protocol_violation                         =
UNKNOWN_CIPHER_RETURNED                   protocol_violation                         =
NO_SUITABLE_KEY_SHARE                     group_mismatch                             =
NO_SHARED_GROUPS                          group_mismatch                             =
UNSUPPORTED_ELLIPTIC_CURVE                group_mismatch                             =
ECGROUP_TOO_LARGE_FOR_CIPHER              group_mismatch                             =
UNABLE_TO_FIND_ECDH_PARAMETERS            group_mismatch|local_config                =
WRONG_CURVE                               group_mismatch|signature_algorithm_mismatch|protocol_violation  group_mismatch
BAD_KEY_SHARE                             key_share_violation                        =
SSLV3_ALERT_ILLEGAL_PARAMETER             key_share_violation|protocol_violation     =
NO_SUITABLE_SIGNATURE_ALGORITHM           signature_algorithm_mismatch               =
NO_SHARED_SIGNATURE_ALGORITHMS            signature_algorithm_mismatch               =
NO_SHARED_SIGATURE_ALGORITHMS             signature_algorithm_mismatch               =
WRONG_SIGNATURE_TYPE                      signature_algorithm_mismatch               =
LEGACY_SIGALG_DISALLOWED_OR_UNSUPPORTED   signature_algorithm_mismatch               =
NO_SUITABLE_DIGEST_ALGORITHM              signature_algorithm_mismatch               =
ILLEGAL_SUITEB_DIGEST                     signature_algorithm_mismatch|local_config  =
SSLV3_ALERT_UNSUPPORTED_CERTIFICATE       client_cert_required                       signature_algorithm_mismatch|cert_too_weak
MISSING_RSA_CERTIFICATE                   local_config                               =
MISSING_TMP_DH_KEY                        local_config                               =
MISSING_TMP_ECDH_KEY                      local_config                               =
ECC_CERT_NOT_FOR_SIGNING                  local_config                               =
ECDH_REQUIRED_FOR_SUITEB_MODE             local_config                               =
# the certificate a peer served does not fit what was negotiated
MISSING_RSA_ENCRYPTING_CERT               protocol_violation                         =
MISSING_RSA_SIGNING_CERT                  protocol_violation                         =
MISSING_DSA_SIGNING_CERT                  protocol_violation                         =
MISSING_ECDSA_SIGNING_CERT                protocol_violation                         =
MISSING_SIGNING_CERT                      protocol_violation                         =
MISSING_DH_DSA_CERT                       protocol_violation                         =
MISSING_DH_RSA_CERT                       protocol_violation                         =
MISSING_ECDH_CERT                         protocol_violation                         =
WRONG_CERTIFICATE_TYPE                    protocol_violation                         =
UNKNOWN_CERTIFICATE_TYPE                  protocol_violation                         =
BAD_ECC_CERT                              protocol_violation                         =
UNABLE_TO_FIND_PUBLIC_KEY_PARAMETERS      protocol_violation                         =
NO_GOST_CERTIFICATE_SENT_BY_PEER          protocol_violation                         =
TLS_CLIENT_CERT_REQ_WITH_ANON_CIPHER      protocol_violation                         =
# Diffie-Hellman
DH_KEY_TOO_SMALL                          dh_too_small                               =
BAD_DH_VALUE                              dh_too_small|protocol_violation            =
BAD_DH_P_LENGTH                           dh_too_small|protocol_violation            =
BAD_DH_P_VALUE                            dh_too_small|protocol_violation            =
BAD_DH_G_LENGTH                           dh_too_small|protocol_violation            =
BAD_DH_G_VALUE                            dh_too_small|protocol_violation            =
BAD_DH_PUB_KEY_LENGTH                     dh_too_small|protocol_violation            =
BAD_DH_PUB_KEY_VALUE                      dh_too_small|protocol_violation            =
DH_PUBLIC_VALUE_LENGTH_IS_WRONG           protocol_violation                         =
# certificates: on the upstream side the upstream refuses nginx's client certificate; on the
# client side the client does not trust the chain nginx served (or nginx refuses the client's)
TLSV1_ALERT_UNKNOWN_CA                    client_cert_required                       cert_untrusted|cert_chain_incomplete
SSLV3_ALERT_BAD_CERTIFICATE               client_cert_required                       cert_untrusted|cert_chain_incomplete|hostname_mismatch|cert_expired
SSLV3_ALERT_CERTIFICATE_UNKNOWN           client_cert_required                       cert_untrusted|cert_chain_incomplete|hostname_mismatch
SSLV3_ALERT_CERTIFICATE_EXPIRED           client_cert_required|clock_skew            cert_expired|clock_skew
SSLV3_ALERT_CERTIFICATE_REVOKED           client_cert_required                       -
SSLV3_ALERT_NO_CERTIFICATE                client_cert_required                       -
TLSV1_ALERT_ACCESS_DENIED                 client_cert_required                       -
TLSV13_ALERT_CERTIFICATE_REQUIRED         client_cert_required                       -
PEER_DID_NOT_RETURN_A_CERTIFICATE         client_cert_required                       =
NO_CERTIFICATES_RETURNED                  client_cert_required                       =
TLS_PEER_DID_NOT_RESPOND_WITH_CERTIFICATE_LIST  client_cert_required                 =
CERTIFICATE_VERIFY_FAILED                 cert_untrusted|cert_chain_incomplete       =
EE_KEY_TOO_SMALL                          cert_too_weak                              cert_too_weak|local_config
CA_KEY_TOO_SMALL                          cert_too_weak                              cert_too_weak|local_config
CA_MD_TOO_WEAK                            cert_too_weak                              cert_too_weak|local_config
# server names
TLSV1_UNRECOGNIZED_NAME                   sni_required|sni_unknown_name              -
SSL3_EXT_INVALID_SERVERNAME               local_config                               -
SSL3_EXT_INVALID_SERVERNAME_TYPE          local_config                               -
# application protocols (ALPN)
TLSV1_ALERT_NO_APPLICATION_PROTOCOL       alpn_mismatch                              =
NO_APPLICATION_PROTOCOL                   alpn_mismatch                              =
# renegotiation
UNSAFE_LEGACY_RENEGOTIATION_DISABLED      legacy_renegotiation                       =
RENEGOTIATION_MISMATCH                    protocol_violation                         =
RENEGOTIATION_ENCODING_ERR                protocol_violation                         =
RENEGOTIATE_EXT_TOO_LONG                  protocol_violation                         =
SCSV_RECEIVED_WHEN_RENEGOTIATING          protocol_violation                         =
# the peer closed the connection
UNEXPECTED_EOF_WHILE_READING              connection_reset                           =
# the peer breaks the protocol, or says nginx did (a broken TLS stack, a middlebox, a scanner)
SSLV3_ALERT_UNEXPECTED_MESSAGE            protocol_violation                         =
TLSV1_ALERT_DECODE_ERROR                  protocol_violation|key_share_violation     protocol_violation
TLSV1_ALERT_RECORD_OVERFLOW               protocol_violation                         =
TLSV1_UNSUPPORTED_EXTENSION               protocol_violation                         =
TLSV13_ALERT_MISSING_EXTENSION            protocol_violation|protocol_mismatch       protocol_violation
SSLV3_ALERT_DECOMPRESSION_FAILURE         protocol_violation                         =
EXCESSIVE_MESSAGE_SIZE                    protocol_violation                         =
TOO_MANY_WARN_ALERTS                      protocol_violation                         =
TOO_MANY_KEY_UPDATES                      protocol_violation                         =
UNEXPECTED_MESSAGE                        protocol_violation                         =
UNEXPECTED_RECORD                         protocol_violation                         =
UNEXPECTED_CCS_MESSAGE                    protocol_violation                         =
INVALID_CCS_MESSAGE                       protocol_violation                         =
BAD_CHANGE_CIPHER_SPEC                    protocol_violation                         =
CCS_RECEIVED_EARLY                        protocol_violation                         =
GOT_A_FIN_BEFORE_A_CCS                    protocol_violation                         =
GOT_NEXT_PROTO_BEFORE_A_CCS               protocol_violation                         =
GOT_NEXT_PROTO_WITHOUT_EXTENSION          protocol_violation                         =
DATA_BETWEEN_CCS_AND_FINISHED             protocol_violation                         =
APP_DATA_IN_HANDSHAKE                     protocol_violation                         =
MIXED_HANDSHAKE_AND_NON_HANDSHAKE_DATA    protocol_violation                         =
NOT_ON_RECORD_BOUNDARY                    protocol_violation                         =
RECORD_LENGTH_MISMATCH                    protocol_violation                         =
RECORD_TOO_SMALL                          protocol_violation                         =
LENGTH_MISMATCH                           protocol_violation                         =
LENGTH_TOO_SHORT                          protocol_violation                         =
LENGTH_TOO_LONG                           protocol_violation                         =
BAD_LENGTH                                protocol_violation                         =
BAD_PACKET                                protocol_violation                         =
BAD_PACKET_LENGTH                         protocol_violation                         =
BAD_HANDSHAKE_LENGTH                      protocol_violation                         =
BAD_MESSAGE_TYPE                          protocol_violation                         =
WRONG_MESSAGE_TYPE                        protocol_violation                         =
BAD_RECORD_TYPE                           protocol_violation                         =
INVALID_RECORD                            protocol_violation                         =
EXTRA_DATA_IN_MESSAGE                     protocol_violation                         =
EXT_LENGTH_MISMATCH                       protocol_violation                         =
SSL_NEGATIVE_LENGTH                       protocol_violation                         =
ENCRYPTED_LENGTH_TOO_LONG                 protocol_violation                         =
DATA_LENGTH_TOO_LONG                      protocol_violation                         =
COMPRESSED_LENGTH_TOO_LONG                protocol_violation                         =
BAD_HELLO_REQUEST                         protocol_violation                         =
BAD_HRR_VERSION                           protocol_violation                         =
NO_CHANGE_FOLLOWING_HRR                   protocol_violation                         =
BAD_LEGACY_VERSION                        protocol_violation                         =
BAD_PROTOCOL_VERSION_NUMBER               protocol_violation                         =
BAD_KEY_UPDATE                            protocol_violation                         =
INVALID_ALERT                             protocol_violation                         =
UNKNOWN_ALERT_TYPE                        protocol_violation                         =
BAD_ALERT_RECORD                          protocol_violation                         =
BAD_EXTENSION                             protocol_violation                         =
UNSOLICITED_EXTENSION                     protocol_violation                         =
CLIENTHELLO_TLSEXT                        protocol_violation                         =
SERVERHELLO_TLSEXT                        protocol_violation                         =
PARSE_TLSEXT                              protocol_violation                         =
MISSING_SIGALGS_EXTENSION                 protocol_violation                         =
SIGNATURE_ALGORITHMS_ERROR                protocol_violation                         =
MISSING_SUPPORTED_GROUPS_EXTENSION        protocol_violation                         =
MISSING_SUPPORTED_VERSIONS_EXTENSION      protocol_violation                         =
MISSING_PSK_KEX_MODES_EXTENSION           protocol_violation                         =
BAD_ECPOINT                               protocol_violation                         =
ILLEGAL_POINT_COMPRESSION                 protocol_violation                         =
TLS_INVALID_ECPOINTFORMAT_LIST            protocol_violation                         =
SSL3_EXT_INVALID_ECPOINTFORMAT            protocol_violation                         =
SSL3_EXT_INVALID_MAX_FRAGMENT_LENGTH      protocol_violation                         =
ERROR_IN_RECEIVED_CIPHER_LIST             protocol_violation                         =
CIPHERSUITE_DIGEST_HAS_CHANGED            protocol_violation                         =
INVALID_SESSION_ID                        protocol_violation                         =
SSL3_SESSION_ID_TOO_LONG                  protocol_violation                         =
OLD_SESSION_CIPHER_NOT_RETURNED           protocol_violation                         =
OLD_SESSION_COMPRESSION_ALGORITHM_NOT_RETURNED  protocol_violation                   =
INCONSISTENT_EXTMS                        protocol_violation                         =
INVALID_COMPRESSION_ALGORITHM             protocol_violation                         =
INCONSISTENT_COMPRESSION                  protocol_violation                         =
UNSUPPORTED_COMPRESSION_ALGORITHM         protocol_violation                         =
REQUIRED_COMPRESSION_ALGORITHM_MISSING    protocol_violation                         =
REQUIRED_COMPRESSSION_ALGORITHM_MISSING   protocol_violation                         =
NO_COMPRESSION_SPECIFIED                  protocol_violation                         =
BAD_COMPRESSION_ALGORITHM                 protocol_violation                         =
CA_DN_LENGTH_MISMATCH                     protocol_violation                         =
CA_DN_TOO_LONG                            protocol_violation                         =
CERT_LENGTH_MISMATCH                      protocol_violation                         =
BAD_DIGEST_LENGTH                         protocol_violation                         =
BAD_DATA                                  protocol_violation                         =
INVALID_STATUS_RESPONSE                   protocol_violation                         =
TLSV1_BAD_CERTIFICATE_STATUS_RESPONSE     protocol_violation                         =
UNSUPPORTED_STATUS_TYPE                   protocol_violation                         =
INVALID_CONTEXT                           protocol_violation                         =
POST_HANDSHAKE_AUTH_ENCODING_ERR          protocol_violation                         =
BAD_EARLY_DATA                            protocol_violation                         =
INVALID_MAX_EARLY_DATA                    protocol_violation                         =
INCONSISTENT_EARLY_DATA_ALPN              protocol_violation                         =
INCONSISTENT_EARLY_DATA_SNI               protocol_violation                         =
TOO_MUCH_EARLY_DATA                       protocol_violation                         =
UNEXPECTED_END_OF_EARLY_DATA              protocol_violation                         =
BINDER_DOES_NOT_VERIFY                    protocol_violation                         =
BAD_PSK                                   protocol_violation                         =
BAD_PSK_IDENTITY                          protocol_violation                         =
EMPTY_RAW_PUBLIC_KEY                      protocol_violation                         =
INVALID_RAW_PUBLIC_KEY                    protocol_violation                         =
WRONG_RPK_TYPE                            protocol_violation                         =
BAD_CERTIFICATE                           protocol_violation                         =
UNKNOWN_MANDATORY_PARAMETER               protocol_violation                         =
# nginx's own TLS settings or state (cipher strings, proxy_ssl_conf_command, certificates)
NO_CIPHERS_AVAILABLE                      local_config                               =
NO_CIPHER_MATCH                           local_config                               =
NO_PROTOCOLS_AVAILABLE                    local_config                               =
NO_SUITABLE_GROUPS                        local_config                               =
NULL_SSL_METHOD_PASSED                    local_config                               =
INVALID_COMMAND                           local_config                               =
UNKNOWN_CMD_NAME                          local_config                               =
INVALID_NULL_CMD_NAME                     local_config                               =
BAD_VALUE                                 local_config                               =
UNSUPPORTED_CONFIG_VALUE                  local_config                               =
NO_CERTIFICATE_SET                        local_config                               =
NO_CERTIFICATE_ASSIGNED                   local_config                               =
NO_PRIVATE_KEY_ASSIGNED                   local_config                               =
CERT_CB_ERROR                             local_config                               =
SESSION_ID_CONTEXT_UNINITIALIZED          local_config                               =
# what no log line can name: corrupted records (a middlebox, a broken NIC offload or TLS stack),
# signatures or Finished messages that do not verify, the peer's own internal errors, callbacks
SSLV3_ALERT_BAD_RECORD_MAC                -                                          -
TLSV1_ALERT_DECRYPTION_FAILED             -                                          -
TLSV1_ALERT_DECRYPT_ERROR                 -                                          -
DECRYPTION_FAILED_OR_BAD_RECORD_MAC       -                                          -
DECRYPTION_FAILED                         -                                          -
BLOCK_CIPHER_PAD_IS_WRONG                 -                                          -
BAD_RSA_DECRYPT                           -                                          -
BAD_RSA_ENCRYPT                           -                                          -
BAD_SIGNATURE                             -                                          -
BAD_RSA_SIGNATURE                         -                                          -
BAD_DSA_SIGNATURE                         -                                          -
BAD_ECDSA_SIGNATURE                       -                                          -
WRONG_SIGNATURE_LENGTH                    -                                          -
WRONG_SIGNATURE_SIZE                      -                                          -
SIGNATURE_FOR_NON_SIGNING_CERTIFICATE     -                                          -
DIGEST_CHECK_FAILED                       -                                          -
BAD_RSA_E_LENGTH                          -                                          -
BAD_RSA_MODULUS_LENGTH                    -                                          -
TLS_RSA_ENCRYPTED_VALUE_LENGTH_IS_WRONG   -                                          -
TLSV1_ALERT_INTERNAL_ERROR                -                                          -
TLSV1_ALERT_USER_CANCELLED                -                                          -
TLSV1_ALERT_EXPORT_RESTRICTION            -                                          -
TLSV1_ALERT_UNKNOWN_PSK_IDENTITY          -                                          -
TLSV1_CERTIFICATE_UNOBTAINABLE            -                                          -
TLSV1_BAD_CERTIFICATE_HASH_VALUE          -                                          -
TLSV1_ALERT_NO_RENEGOTIATION              -                                          -
NO_RENEGOTIATION                          -                                          -
SSL_HANDSHAKE_FAILURE                     -                                          -
CALLBACK_FAILED                           -                                          -
BAD_DATA_RETURNED_BY_CALLBACK             -                                          -
OCSP_CALLBACK_FAILURE                     -                                          -
COOKIE_GEN_CALLBACK_FAILURE               -                                          -
ATTEMPT_TO_REUSE_SESSION_IN_DIFFERENT_CONTEXT  -                                     -
SSL_SESSION_VERSION_MISMATCH              -                                          -
CANNOT_CHANGE_CIPHER                      -                                          -
BAD_HANDSHAKE_STATE                       -                                          -
UNKNOWN_STATE                             -                                          -
LIBRARY_BUG                               -                                          -
BN_LIB                                    -                                          -
X509_LIB                                  -                                          -
UNKNOWN_CIPHER_TYPE                       -                                          -
UNKNOWN_KEY_EXCHANGE_TYPE                 -                                          -
UNKNOWN_PKEY_TYPE                         -                                          -
UNKNOWN_DIGEST                            -                                          -
NO_REQUIRED_DIGEST                        -                                          -
UNSUPPORTED_DIGEST_TYPE                   -                                          -
COMPRESSION_FAILURE                       -                                          -
COMPRESSION_LIBRARY_ERROR                 -                                          -
BAD_DECOMPRESSION                         -                                          -
COMPRESSION_DISABLED                      -                                          -
MISSING_PARAMETERS                        -                                          -
COPY_PARAMETERS_FAILED                    -                                          -
OVERFLOW_ERROR                            -                                          -
PIPELINE_FAILURE                          -                                          -
MISSING_FATAL                             -                                          -
FAILED_TO_GET_PARAMETER                   -                                          -
NO_SUITABLE_RECORD_LAYER                  -                                          -
RECORDS_NOT_RELEASED                      -                                          -
SEQUENCE_CTR_WRAPPED                      -                                          -
SHUTDOWN_WHILE_IN_INIT                    -                                          -
BAD_WRITE_RETRY                           -                                          -
PROTOCOL_IS_SHUTDOWN                      -                                          -
APPLICATION_DATA_AFTER_CLOSE_NOTIFY       -                                          -
MISSING_TMP_RSA_KEY                       -                                          -
MISSING_TMP_RSA_PKEY                      -                                          -
MISSING_EXPORT_TMP_DH_KEY                 -                                          -
MISSING_EXPORT_TMP_RSA_KEY                -                                          -
ERROR_GENERATING_TMP_RSA_KEY              -                                          -
UNABLE_TO_DECODE_ECDH_CERTS               -                                          -
UNSUPPORTED_CIPHER                        -                                          -
"""

# Reasons that never end a TLS handshake nginx runs: API misuse, loading files and settings at
# start-up, session caching, and protocols or features nginx never turns on.  Unknown on purpose.
_NOT_IN_A_HANDSHAKE = (
    ("calls in the wrong order or state", """
        BIO_NOT_SET READ_BIO_NOT_SET WRITE_BIO_NOT_SET UNINITIALIZED CONNECTION_TYPE_NOT_SET NULL_SSL_CTX
        NOT_SERVER STILL_IN_INIT REQUEST_PENDING REQUEST_SENT INVALID_KEY_UPDATE_TYPE NO_METHOD_SPECIFIED
        SSL_CTX_HAS_NO_DEFAULT_SSL_VERSION EXTENSION_NOT_RECEIVED FAILED_TO_INIT_ASYNC UNSUPPORTED_WRITE_FLAG
        TLS_ILLEGAL_EXPORTER_LABEL NO_CLIENT_CERT_METHOD NO_VERIFY_CALLBACK CUSTOM_EXT_HANDLER_ALREADY_INSTALLED
        NOT_REPLACING_CERTIFICATE INVALID_TICKET_KEYS_LENGTH INVALID_CT_VALIDATION_TYPE INVALID_CONFIG
        INVALID_PURPOSE INVALID_TRUST CANNOT_GET_GROUP_NAME CONN_USE_ONLY DOMAIN_USE_ONLY LISTENER_USE_ONLY
        POLL_REQUEST_NOT_SUPPORTED SHORT_READ MULTIPLE_SGC_RESTARTS PRE_MAC_LENGTH_TOO_LONG MISSING_VERIFY_MESSAGE
        UNABLE_TO_FIND_SSL_METHOD UNABLE_TO_FIND_DH_PARAMETERS UNABLE_TO_DECODE_DH_CERTS WRONG_NUMBER_OF_KEY_BITS
        BAD_MAC_LENGTH MISSING_DH_KEY INVALID_CERTIFICATE_OR_ALG NO_CIPHERS_PASSED NO_CERTIFICATE_RETURNED
        NO_CLIENT_CERT_RECEIVED UNSUPPORTED_CONFIG_VALUE_CLASS UNSUPPORTED_CONFIG_VALUE_OP
        ECC_CERT_NOT_FOR_KEY_AGREEMENT ECC_CERT_SHOULD_HAVE_RSA_SIGNATURE ECC_CERT_SHOULD_HAVE_SHA1_SIGNATURE
        OPAQUE_PRF_INPUT_TOO_LONG"""),
    ("loading certificates, keys and settings at start-up (nginx logs these as [emerg])", """
        BAD_SSL_FILETYPE PEM_NAME_BAD_PREFIX PEM_NAME_TOO_SHORT NO_PEM_EXTENSIONS INVALID_SERVERINFO_DATA
        PATH_TOO_LONG PRIVATE_KEY_MISMATCH SSL_SECTION_EMPTY SSL_SECTION_NOT_FOUND SSL_COMMAND_SECTION_EMPTY
        SSL_COMMAND_SECTION_NOT_FOUND INVALID_CONFIGURATION_NAME UNKNOWN_COMMAND ERROR_IN_SYSTEM_DEFAULT_CONFIG
        LIBRARY_HAS_NO_CIPHERS SSL_LIBRARY_HAS_NO_CIPHERS COMPRESSION_ID_NOT_WITHIN_PRIVATE_RANGE
        DUPLICATE_COMPRESSION_ID X509_VERIFICATION_SETUP_PROBLEMS UNABLE_TO_LOAD_SSL2_MD5_ROUTINES
        UNABLE_TO_LOAD_SSL3_MD5_ROUTINES UNABLE_TO_LOAD_SSL3_SHA1_ROUTINES ONLY_DTLS_1_2_ALLOWED_IN_SUITEB_MODE
        NO_CERTIFICATE_SPECIFIED NO_PRIVATEKEY NO_PUBLICKEY"""),
    ("the session cache (a failed resumption falls back to a full handshake)", """
        SSL_SESSION_ID_CALLBACK_FAILED SSL_SESSION_ID_CONFLICT SSL_SESSION_ID_CONTEXT_TOO_LONG
        SSL_SESSION_ID_HAS_BAD_LENGTH SSL_SESSION_ID_TOO_LONG BAD_SSL_SESSION_ID_LENGTH UNSUPPORTED_SSL_VERSION
        UNKNOWN_SSL_VERSION CIPHER_CODE_WRONG_LENGTH SSL23_DOING_SESSION_ID_REUSE SSL3_SESSION_ID_TOO_SHORT"""),
    ("DANE, certificate transparency, PSK, SRP, SRTP, heartbeats, Kerberos: nginx turns none of them on", """
        CONTEXT_NOT_DANE_ENABLED DANE_ALREADY_ENABLED DANE_CANNOT_OVERRIDE_MTYPE_FULL DANE_NOT_ENABLED
        DANE_TLSA_BAD_CERTIFICATE DANE_TLSA_BAD_CERTIFICATE_USAGE DANE_TLSA_BAD_DATA_LENGTH
        DANE_TLSA_BAD_DIGEST_LENGTH DANE_TLSA_BAD_MATCHING_TYPE DANE_TLSA_BAD_PUBLIC_KEY DANE_TLSA_BAD_SELECTOR
        DANE_TLSA_NULL_DATA ERROR_SETTING_TLSA_BASE_DOMAIN NO_VALID_SCTS SCT_VERIFICATION_FAILED
        PSK_IDENTITY_NOT_FOUND PSK_NO_CLIENT_CB PSK_NO_SERVER_CB BAD_PSK_IDENTITY_HINT_LENGTH INSUFFICIENT_SECURITY
        BAD_SRP_A_LENGTH BAD_SRP_B_LENGTH BAD_SRP_G_LENGTH BAD_SRP_N_LENGTH BAD_SRP_S_LENGTH BAD_SRP_PARAMETERS
        INVALID_SRP_USERNAME MISSING_SRP_PARAM SRP_A_CALC BAD_SRTP_MKI_VALUE BAD_SRTP_PROTECTION_PROFILE_LIST
        EMPTY_SRTP_PROTECTION_PROFILE_LIST NO_SRTP_PROFILES SRTP_COULD_NOT_ALLOCATE_PROFILES
        SRTP_PROTECTION_PROFILE_LIST_TOO_LONG SRTP_UNKNOWN_PROTECTION_PROFILE USE_SRTP_NOT_NEGOTIATED
        TLS_HEARTBEAT_PEER_DOESNT_ACCEPT TLS_HEARTBEAT_PENDING KRB5 KRB5_C_CC_PRINC KRB5_C_GET_CRED KRB5_C_INIT
        KRB5_C_MK_REQ KRB5_S_BAD_TICKET KRB5_S_INIT KRB5_S_RD_REQ KRB5_S_TKT_EXPIRED KRB5_S_TKT_NYV
        KRB5_S_TKT_SKEW"""),
    ("DTLS and QUIC: nginx 1.22's http and stream proxies speak TLS over TCP", """
        COOKIE_MISMATCH FRAGMENTED_CLIENT_HELLO INVALID_SEQUENCE_NUMBER NO_COOKIE_CALLBACK_SET
        NO_VERIFY_COOKIE_CALLBACK READ_TIMEOUT_EXPIRED DTLS_MESSAGE_TOO_BIG EXCEEDS_MAX_FRAGMENT_SIZE
        MAXIMUM_ENCRYPTED_PKTS_REACHED MISSING_QUIC_TLS_FUNCTIONS NO_STREAM QUIC_HANDSHAKE_LAYER_ERROR
        QUIC_NETWORK_ERROR QUIC_PROTOCOL_ERROR REMOTE_PEER_ADDRESS_NOT_SET STREAM_COUNT_LIMITED STREAM_FINISHED
        STREAM_RECV_ONLY STREAM_RESET STREAM_SEND_ONLY FEATURE_NEGOTIATION_NOT_COMPLETE FEATURE_NOT_RENEGOTIABLE"""),
    ("SSLv2, which no OpenSSL since 1.1.0 speaks", """
        BAD_AUTHENTICATION_TYPE BAD_CHECKSUM BAD_MAC_DECODE BAD_RESPONSE_ARGUMENT BAD_STATE CHALLENGE_IS_DIFFERENT
        CIPHER_TABLE_SRC_ERROR CONNECTION_ID_IS_DIFFERENT ILLEGAL_PADDING INVALID_CHALLENGE_LENGTH KEY_ARG_TOO_LONG
        MESSAGE_TOO_LONG NO_CIPHER_LIST PEER_ERROR PEER_ERROR_CERTIFICATE PEER_ERROR_NO_CERTIFICATE
        PEER_ERROR_NO_CIPHER PEER_ERROR_UNSUPPORTED_CERTIFICATE_TYPE PROBLEMS_MAPPING_CIPHER_FUNCTIONS
        PUBLIC_KEY_ENCRYPT_ERROR PUBLIC_KEY_IS_NOT_RSA PUBLIC_KEY_NOT_RSA READ_WRONG_PACKET_TYPE
        REUSE_CERT_LENGTH_NOT_ZERO REUSE_CERT_TYPE_NOT_ZERO REUSE_CIPHER_LIST_NOT_ZERO SSL2_CONNECTION_ID_TOO_LONG
        SSL_SESSION_ID_IS_DIFFERENT UNABLE_TO_EXTRACT_PUBLIC_KEY UNKNOWN_REMOTE_ERROR_TYPE"""),
)


def _parse_table(text):
    decided = {}
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        name, upstream, client = line.split()
        upstream = () if upstream == "-" else tuple(upstream.split("|"))
        client = upstream if client == "=" else (() if client == "-" else tuple(client.split("|")))
        if name in decided:
            raise ValueError("%s is decided twice" % name)
        decided[name] = {"upstream": upstream, "client": client}
    for _why, names in _NOT_IN_A_HANDSHAKE:
        for name in names.split():
            if name in decided:
                raise ValueError("%s is decided twice" % name)
            decided[name] = {"upstream": (), "client": ()}
    return decided


# SSL_R_ name -> {"upstream": (cause, ...), "client": (...)}; () is unknown on purpose.
REASON_CAUSES = _parse_table(_HANDSHAKE_REASONS)
NOT_IN_A_HANDSHAKE = frozenset(name for _why, names in _NOT_IN_A_HANDSHAKE for name in names.split())

# Notes for the ambiguous reasons a log reader meets most; others get a generic one.
_NOTES = {
    ("SSLV3_ALERT_HANDSHAKE_FAILURE", "upstream"):
        "alert 40 (handshake failure) is all nginx sees for a cipher, group or signature algorithm mismatch "
        "and for a TLS 1.2 upstream that requires a client certificate; only a probe "
        "(tlsops.handshake.tls_probe) can tell them apart.",
    ("SSLV3_ALERT_HANDSHAKE_FAILURE", "client"):
        "a client sent alert 40 (handshake failure): it accepts none of the cipher, signature algorithm "
        "(the certificate's key type) or key exchange nginx offered it; its own logs tell which.",
    ("WRONG_VERSION_NUMBER", "upstream"):
        "wrong version number: the upstream answered with something that is not TLS (often plain HTTP); "
        "tlsops.handshake.tls_probe sniffs what it speaks.",
    ("UNKNOWN_PROTOCOL", "upstream"):
        "unknown protocol (OpenSSL 1.0.2): the upstream answered with something that is not TLS (often plain "
        "HTTP), or with a version this OpenSSL does not know; tlsops.handshake.tls_probe sniffs what it speaks.",
    ("TLSV1_UNRECOGNIZED_NAME", "upstream"):
        "alert 112: the upstream wants a server name the proxy does not send, or does not serve the one "
        "it sends; proxy_ssl_server_name and proxy_ssl_name decide which (tlsops.handshake.tls_probe tells).",
    ("TLSV1_ALERT_UNKNOWN_CA", "client"):
        "alert 48 (unknown ca) from a client: it does not trust the chain nginx served - an intermediate "
        "missing from ssl_certificate, or a CA the client does not know (a private CA, a pinned client).",
}


def ambiguity_note(name, side, candidates):
    note = _NOTES.get((name, side))
    if note:
        return note
    text = reason_text(name)
    if side == "upstream":
        return ("OpenSSL's %r stands for any of %s; tlsops.handshake.tls_probe against the upstream tells them "
                "apart." % (text, ", ".join(candidates)))
    return "a client's %r stands for any of %s; only the client's side shows which." % (text, ", ".join(candidates))


# ------------------------------------------------------------------------------- OpenSSL's tables
def _family(series):
    return series if series.startswith("1.") else "3"


def _index():
    by_number = {"1.0.2": {}, "1.1.1": {}, "3": {}}
    by_text, text_of = {}, {}
    for name, number, text, first, last in tables.REASONS:
        covered = tables.SERIES[tables.SERIES.index(first):tables.SERIES.index(last) + 1]
        for family in sorted(set(_family(s) for s in covered)):
            by_number[family].setdefault(number, name)
        by_text.setdefault(text.lower(), name)
        by_text.setdefault(name.lower(), name)          # BoringSSL prints the names themselves
        if "3.0" in covered or name not in text_of:     # 3.0's spelling: what most hosts print today
            text_of[name] = text
    return by_number, by_text, text_of


_BY_NUMBER, _BY_TEXT, _TEXT_OF = _index()
_TEXTS_LONGEST_FIRST = sorted((t for t in _BY_TEXT if " " in t), key=len, reverse=True)
_FUNCTIONS = {"1.0.2": tables.FUNCTIONS_1_0_2, "1.1.1": tables.FUNCTIONS_1_1_1}
_FUNCTION_SERIES = dict((name.lower(), series) for series, names in _FUNCTIONS.items() for name in names.values())
_LIB_SSL = 20


def reason_text(name):
    """OpenSSL 3.0's text for an SSL_R_ name (``SSLV3_ALERT_HANDSHAKE_FAILURE`` -> ``sslv3 alert handshake failure``)."""
    return _TEXT_OF.get(name, name.lower().replace("_", " "))


def reason_number(name, family="3"):
    for number, known in _BY_NUMBER[family].items():
        if known == name:
            return number
    return None


def all_reason_names():
    return frozenset(row[0] for row in tables.REASONS)


def alert_texts():
    """{alert number: OpenSSL 3.0's text of the received alert}."""
    return dict((number - 1000, reason_text(name)) for number, name in _BY_NUMBER["3"].items() if number >= 1000)


# ------------------------------------------------------------------------------ reading error strings
# error:CODE:LIBRARY:FUNCTION:REASON[:DATA]; 3.x leaves FUNCTION empty.
_ERROR_RE = re.compile(r"error:([0-9A-Fa-f]{8}):([^:]{0,64}):([^:]{0,128}):")
_NUMERIC_REASON_RE = re.compile(r"reason\((\d{1,7})")
_STOPS = re.compile(r"(?=[:)]| error:)|$")       # where a reason may end: looked at, not eaten
_PYTHON_NAME_RE = re.compile(r"\[SSL: ([A-Z0-9_]{3,80})\]")


def _decode(code):
    """``(family, function number, reason number)`` of an SSL-library code, or None."""
    value = int(code, 16)
    if value >> 23 == _LIB_SSL:                    # 3.x: library in bits 23-30, no function
        return "3", None, value & 0x7FFFFF
    if value >> 24 == _LIB_SSL:                    # 1.0.2 and 1.1.1: library, function, reason
        return "1", (value >> 12) & 0xFFF, value & 0xFFF
    return None


def _names_for_number(decoded, function_text):
    """``[(name, series)]`` an SSL-library code's reason number stands for."""
    family, function, number = decoded
    if family == "3":
        name = _BY_NUMBER["3"].get(number)
        return [(name, "3.0")] if name else []
    # 1.1.0 renumbered: the function (its name, or its number) says which series wrote the line
    series = [_FUNCTION_SERIES[function_text.lower()]] if function_text.lower() in _FUNCTION_SERIES else []
    if not series:
        series = [s for s in ("1.1.1", "1.0.2") if function in _FUNCTIONS[s]] or ["1.1.1", "1.0.2"]
    found = []
    for one in series:
        name = _BY_NUMBER[one].get(number)
        if name and name not in [n for n, _s in found]:
            found.append((name, one))
    return found


def _text_in_series(name, series):
    if series == "3.0":
        return reason_text(name)
    for row_name, _number, text, first, last in tables.REASONS:
        if row_name == name and tables.SERIES.index(first) <= tables.SERIES.index(series) <= tables.SERIES.index(last):
            return text
    return reason_text(name)


def _reason_at(rest):
    """The reason text at the start of ``rest`` (what follows FUNCTION:), as written."""
    low = rest.lower()
    for stop in _STOPS.finditer(low):
        if low[:stop.start()] in _BY_TEXT:
            return rest[:stop.start()]
    end = _STOPS.search(rest)  # it always matches: its last alternative is the end of the text
    return rest[:end.start()] if end else rest


def errors(message):
    """Each OpenSSL error in ``message``: dicts with ``code``, ``library``, ``function``, ``reason`` (the
    text as logged, or the table's when only ``reason(N)`` was logged), ``names`` (SSL_R_ names it may
    be; two when a 1.x number alone cannot say which series wrote it) and ``ssl`` (the SSL library's)."""
    found = []
    for match in _ERROR_RE.finditer(message or ""):
        code, library, function = match.groups()
        rest = message[match.end():match.end() + 200]
        decoded = _decode(code)
        reason = _reason_at(rest)
        numeric = _NUMERIC_REASON_RE.match(reason)
        names: Tuple[str, ...] = ()
        if not numeric and reason.lower() in _BY_TEXT:
            names = (_BY_TEXT[reason.lower()],)
        elif decoded:
            pairs = _names_for_number(decoded, function)
            names = tuple(n for n, _series in pairs)
            if numeric and pairs:
                reason = " or ".join(_text_in_series(n, series) for n, series in pairs)
        found.append({"code": code.upper(), "library": library, "function": function, "reason": reason,
                      "names": names, "ssl": decoded is not None or library == "SSL routines"})
    return found


def raw_reason(message):
    """OpenSSL's reason in an nginx SSL error line (``sslv3 alert bad record mac``), as logged; the
    table's text when the line holds numbers only (``reason(1040)``); None when there is no OpenSSL
    error.  The first SSL-library error wins; another library's reason comes next."""
    found = errors(message)
    for error in found:
        if error["ssl"] and error["reason"]:
            return error["reason"]
    for error in found:
        if error["reason"]:
            return error["reason"]
    return None


def reason_names(text):
    """The SSL_R_ names an error text stands for: from its OpenSSL error codes, a Python ``[SSL: NAME]``,
    or a bare reason text (``no shared cipher``) anywhere in it.  Empty when none."""
    names = []
    for error in errors(text):
        if error["ssl"]:
            names.extend(n for n in error["names"] if n not in names)
        if names:
            return tuple(names)
    match = _PYTHON_NAME_RE.search(text or "")
    if match and match.group(1).lower() in _BY_TEXT:
        return (_BY_TEXT[match.group(1).lower()],)
    low = (text or "").lower()
    if low.strip() in _BY_TEXT:
        return (_BY_TEXT[low.strip()],)
    for candidate in _TEXTS_LONGEST_FIRST:
        if candidate in low:
            return (_BY_TEXT[candidate],)
    match = re.search(r"alert number (\d{1,3})\b", low)
    if match and int(match.group(1)) + 1000 in _BY_NUMBER["3"]:
        return (_BY_NUMBER["3"][int(match.group(1)) + 1000],)
    return ()


def causes_for(names, side):
    """``(causes, name)``: the candidate causes on ``side`` of the first name that has any (several names
    of one ambiguous number pool theirs), else ``((), first name or None)``."""
    pooled, first = [], None
    for name in names:
        decided = REASON_CAUSES.get(name, {}).get(side, ())
        if decided and first is None:
            first = name
        pooled.extend(c for c in decided if c not in pooled)
    return tuple(pooled), first or (names[0] if names else None)


def reason_codes_3x():
    """{text: number} of OpenSSL 3.x's reasons, every 3.x spelling (3.2 renamed the alerts)."""
    codes = {}
    for name, number, text, _first, last in tables.REASONS:
        if _family(last) == "3":
            codes.setdefault(text, number)
    return codes


def reason_for_error_code(text):
    """The tables' text for the first SSL-library error code in ``text`` that they know, or None."""
    for match in _ERROR_RE.finditer(text or ""):
        decoded = _decode(match.group(1))
        if decoded is None:
            continue
        found = _names_for_number(decoded, match.group(3))
        if found:
            return " or ".join(_text_in_series(n, series) for n, series in found)
    return None
