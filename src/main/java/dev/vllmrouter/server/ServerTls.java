package dev.vllmrouter.server;

import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.SecureRandom;
import java.security.Signature;
import java.security.cert.X509Certificate;
import java.security.interfaces.RSAKey;
import java.util.List;
import java.util.Locale;

import javax.net.ssl.SSLContext;

import io.helidon.common.configurable.Resource;
import io.helidon.common.pki.Keys;

import dev.vllmrouter.config.ConfigException;

/**
 * The HTTPS listener's certificate chain and key ({@code --tls-cert-path}, {@code --tls-key-path}), read and checked
 * before the router starts: each file must hold what it should (a malformed or empty PEM file is named in one line),
 * and the key must be the certificate's (a test signature made with the key is verified with the certificate's
 * public key), so a wrong pair stops the start with exit status 2 instead of failing every handshake later. Also
 * checks that every {@code --tls-cipher-suites} name is one the JVM supports.
 */
final class ServerTls {
    private ServerTls() {
    }

    /** The checked chain (leaf first) and key. */
    record Material(List<X509Certificate> chain, PrivateKey key) {
    }

    /**
     * Reads and checks the pair.
     *
     * @throws ConfigException naming the flag and the file
     */
    static Material load(Path certPath, Path keyPath) {
        List<X509Certificate> chain;
        try {
            chain = Keys.builder().pem(pem -> pem.certChain(Resource.create(certPath))).build().certChain();
        } catch (RuntimeException e) {
            throw new ConfigException("--tls-cert-path: " + certPath + " is not a PEM certificate chain ("
                    + oneLine(e) + ")");
        }
        if (chain.isEmpty()) {
            throw new ConfigException("--tls-cert-path: no certificate in " + certPath);
        }
        PrivateKey key;
        try {
            key = Keys.builder().pem(pem -> pem.key(Resource.create(keyPath))).build().privateKey().orElse(null);
        } catch (RuntimeException e) {
            throw new ConfigException("--tls-key-path: " + keyPath + " is not a PEM private key (" + oneLine(e) + ")");
        }
        if (key == null) {
            throw new ConfigException("--tls-key-path: no private key in " + keyPath);
        }
        if (!matches(key, chain.get(0).getPublicKey())) {
            throw new ConfigException("--tls-key-path: the key in " + keyPath + " is not the key of the certificate in "
                    + certPath);
        }
        return new Material(chain, key);
    }

    /**
     * Whether {@code key} is the private half of {@code pub}: a signature made with it verifies. Key types without a
     * known signature algorithm pass.
     */
    static boolean matches(PrivateKey key, PublicKey pub) {
        if (!key.getAlgorithm().equalsIgnoreCase(pub.getAlgorithm())) {
            return false;
        }
        String algorithm = switch (key.getAlgorithm().toUpperCase(Locale.ROOT)) {
            case "RSA" -> "SHA256withRSA";
            case "EC" -> "SHA256withECDSA";
            case "ED25519", "ED448", "EDDSA" -> key.getAlgorithm();
            default -> null;
        };
        if (algorithm == null) {
            return !(key instanceof RSAKey k && pub instanceof RSAKey p) || k.getModulus().equals(p.getModulus());
        }
        try {
            byte[] data = new byte[32];
            new SecureRandom().nextBytes(data);
            Signature sign = Signature.getInstance(algorithm);
            sign.initSign(key);
            sign.update(data);
            byte[] signature = sign.sign();
            Signature verify = Signature.getInstance(algorithm);
            verify.initVerify(pub);
            verify.update(data);
            return verify.verify(signature);
        } catch (GeneralSecurityException | RuntimeException e) {
            return false;
        }
    }

    /**
     * Checks the {@code --tls-cipher-suites} names against the JVM's.
     *
     * @throws ConfigException naming the first unknown suite
     */
    static void checkSuites(List<String> suites) {
        List<String> supported;
        try {
            supported = List.of(SSLContext.getDefault().getSupportedSSLParameters().getCipherSuites());
        } catch (GeneralSecurityException e) {
            return;
        }
        for (String suite : suites) {
            if (!supported.contains(suite)) {
                throw new ConfigException("--tls-cipher-suites: '" + suite + "' is not a cipher suite this JVM "
                        + "supports");
            }
        }
    }

    private static String oneLine(Throwable e) {
        Throwable t = e;
        while (t.getCause() != null && t.getCause() != t) {
            t = t.getCause();
        }
        String message = t.getMessage() != null ? t.getMessage() : e.getMessage();
        if (message == null) {
            message = t.getClass().getSimpleName();
        }
        message = message.replaceAll("\\s+", " ").trim();
        return message.length() > 200 ? message.substring(0, 200) + "..." : message;
    }
}
